"""Klipfolio client share rights: which groups a client account is shared with."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from reconciler.plugin import (
    NOTE,
    Change,
    Grant,
    KindSpec,
    LiveObject,
    MemberListHandler,
    Problem,
    ProviderError,
    Resource,
    State,
)
from reconciler.vendors.klipfolio.reads import KlipfolioReads
from reconciler.vendors.klipfolio.vocab import ID

RIGHTS = "KlipfolioClientShareRights"


class ShareRights(MemberListHandler[KlipfolioReads]):
    """Which groups a client account is shared with, group by group."""

    SPEC = KindSpec(RIGHTS, identity=("client_id",), members_field="groups")

    def scope(self, spec: dict[str, Any]) -> str:
        return str(spec.get("client_id") or "")

    def normalise(self, spec: dict[str, Any]) -> State:
        return {
            "groups": {
                self.member_key(g): {"can_manage": bool(g["can_manage"])} for g in spec["groups"]
            }
        }

    MANAGER = "can_manage group"

    def managers(self, state: State) -> set[str] | None:
        groups = state.get("groups")
        if not isinstance(groups, dict):
            return set()
        return {g for g, a in groups.items() if isinstance(a, dict) and a.get("can_manage")}

    def grants(self, state: State, labels: Mapping[str, str]) -> list[Grant] | None:
        groups = state.get("groups")
        out = []
        for key, attrs in sorted((groups if isinstance(groups, dict) else {}).items()):
            manage = isinstance(attrs, dict) and bool(attrs.get("can_manage"))
            names: tuple[str, ...]
            if key.startswith("name:"):  # not resolved to an id: offline (`access --desired`)
                principal, label, names = f"{GROUP}{key}", key[5:], ()
            else:
                label = labels.get(key) or key
                principal = GROUP + key.lower()
                names = (f"{GROUP}name:{labels[key]}",) if labels.get(key) else ()
            out.append(
                Grant(
                    principal,
                    label,
                    "manage" if manage else "view",
                    "can_manage" if manage else "",
                    member=key,
                    names=names,
                )
            )
        return out

    def claims(self, person: Mapping[str, Any]) -> set[str]:
        found = set()
        for group in person.get("klipfolio_groups") or []:
            text = str(group)
            found.add(GROUP + (text.lower() if ID.matches(text) else f"name:{text}"))
        return found

    def member_key(self, member: dict[str, Any]) -> str:
        if member.get("group_id"):
            return str(member["group_id"])
        return "name:" + str(member.get("group_name"))

    async def resolve_claims(self, p: KlipfolioReads, keys: set[str]) -> dict[str, list[str]]:
        named = sorted(k for k in keys if k.startswith(GROUP + "name:"))
        if not named:
            return {}
        # As group_name: against the company's groups, never a label a share record shows.
        by_name = await p.groups_by_name()
        cut = len(GROUP + "name:")
        return {k: sorted(GROUP + i.lower() for i in by_name.get(k[cut:], [])) for k in named}

    async def resolve(self, p: KlipfolioReads, resources: list[Resource]) -> list[Problem]:
        if not any(k.startswith("name:") for r in resources for k in r.desired["groups"]):
            return []
        # Group names resolve against the company's groups, read once per plan.
        by_name = await p.groups_by_name()
        problems = []
        for r in resources:
            resolved = {}
            for key, attrs in r.desired["groups"].items():
                if not key.startswith("name:"):
                    resolved[key] = attrs
                    continue
                name = key[5:]
                ids = by_name.get(name, [])
                if len(ids) != 1:
                    why = "no group" if not ids else f"{len(ids)} groups"
                    problems.append(
                        Problem(
                            r.source.file,
                            r.source.line,
                            r.source.column,
                            f"{r.address}: group_name {name!r} matches {why} in Klipfolio",
                            "group-name",
                        )
                    )
                    continue
                if ids[0] in resolved or ids[0] in r.desired["groups"]:
                    problems.append(
                        Problem(
                            r.source.file,
                            r.source.line,
                            r.source.column,
                            f"{r.address}: group {name!r} is listed twice",
                            "duplicate-member",
                        )
                    )
                resolved[ids[0]] = attrs
                r.labels[ids[0]] = name
                if key in r.member_expires:
                    r.member_expires[ids[0]] = r.member_expires.pop(key)
            r.desired["groups"] = resolved
        return problems

    async def read(
        self, p: KlipfolioReads, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        clients = sorted({r.scope for r in resources})
        found = await asyncio.gather(*(p.read_rights(c) for c in clients))
        return [obj for obj in found if obj is not None]

    async def read_report(
        self, p: KlipfolioReads, resources: list[Resource], live: list[LiveObject], whole: bool
    ) -> list[LiveObject]:
        # The client accounts' names (`GET /clients`), which the share rights do not carry.
        names = await p.client_names() if live else {}
        return [dataclasses.replace(o, title=names.get(o.scope, "")) for o in live]

    async def read_one(self, p: KlipfolioReads, change: Change) -> LiveObject | None:
        return await p.read_rights(change.scope)

    async def write(self, p: KlipfolioReads, change: Change, current: LiveObject | None) -> None:
        client = p.path_id(change.scope, "client_id")
        # Every group id is checked before the first write, so none goes out half-done.
        removals = [p.path_id(m.key, "group_id") for m in change.members if m.action == "remove"]
        upserts = [m for m in change.members if m.action in ("add", "change")]
        for m in upserts:
            p.path_id(m.key, "group_id")
        if upserts:
            body = {"groups": [{"group_id": m.key, **m.after} for m in upserts]}
            await p.http.request("PUT", f"/clients/{client}/share-rights", json=body)
        for gid in removals:
            path = f"/clients/{client}/share-rights/{gid}"
            response = await p.http.request("DELETE", path, accept=(403, 404))
            if response.status_code != 403:
                continue
            # 403 is Klipfolio's "client is not shared with that group", and also its
            # refusal: already absent only when a fresh read no longer lists the group.
            now = await p.read_rights(change.scope)
            if now is not None and gid.lower() in {k.lower() for k in now.state["groups"]}:
                code, message = p.parse_error(response)
                raise ProviderError(
                    p.alias, f"DELETE {path}: {message}; the group is still shared", 403, code
                )

    async def scopes(self, p: KlipfolioReads) -> list[str]:
        return await p.clients()

    async def export(self, p: KlipfolioReads, scopes: list[str]) -> list[dict[str, Any]]:
        specs: list[dict[str, Any]] = []
        rights = await asyncio.gather(*(p.read_rights(s) for s in scopes))
        # Each group's name, written as a comment beside its id (NOTE, plugin/handlers.py).
        listed = (await p.get_data("/groups")).get("groups", []) if any(rights) else []
        names = {str(g.get("id")): str(g.get("name")) for g in listed if isinstance(g, dict)}
        for obj in rights:
            if obj is not None and obj.state["groups"]:
                groups = [
                    {
                        "group_id": gid,
                        NOTE + "group_id": names.get(gid),
                        "can_manage": attrs["can_manage"],
                    }
                    for gid, attrs in sorted(obj.state["groups"].items())
                ]
                specs.append({"client_id": obj.scope, "groups": groups})
        return specs


GROUP = "klipfolio-group:"
"""The access report's principal prefix for a group."""
