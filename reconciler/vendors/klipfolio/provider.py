"""Klipfolio: roles (company and client scopes) and client share rights."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from reconciler.plugin import (
    NOTE,
    Action,
    Change,
    Grant,
    KindHandler,
    KindSpec,
    LiveObject,
    MemberListHandler,
    Problem,
    Provider,
    ProviderError,
    ProviderStopped,
    Resource,
    Response,
    RoleGrant,
    State,
    VendorDefaults,
    json_or_none,
    reading,
    records,
)
from reconciler.vendors.klipfolio.vocab import (
    ADMIN_PERMISSIONS,
    ID,
    PERMISSIONS,
    unknown_permission,
)

ROLE = "KlipfolioRole"
RIGHTS = "KlipfolioClientShareRights"


class Roles(KindHandler["KlipfolioProvider"]):
    """Roles of the company (no client_id) and of client accounts, matched by name."""

    SPEC = KindSpec(ROLE, identity=("client_id", "name"), prune_key="roles")

    def scope(self, spec: dict[str, Any]) -> str:
        return str(spec.get("client_id") or "")

    def normalise(self, spec: dict[str, Any]) -> State:
        state: State = {}
        if "description" in spec:
            state["description"] = spec["description"]
        if "permissions" in spec:
            state["permissions"] = sorted(set(spec["permissions"]))
        return state

    def check(
        self, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> list[tuple[tuple[Any, ...], str]]:
        return [(where, message) for where, message, error in _permissions(spec) if error]

    def advise(
        self, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> list[tuple[tuple[Any, ...], str]]:
        return [(where, message) for where, message, error in _permissions(spec) if not error]

    def admin_grants(
        self, before: State | None, after: State, admin_permissions: frozenset[str] | None
    ) -> list[str]:
        admin = ADMIN_PERMISSIONS if admin_permissions is None else admin_permissions
        had = set(_strings((before or {}).get("permissions")))
        return sorted(p for p in set(_strings(after.get("permissions"))) - had if p in admin)

    def admin_vocabulary(self) -> frozenset[str]:
        return frozenset(PERMISSIONS)

    def role(
        self, identity: tuple[str, ...], state: State, admin_permissions: frozenset[str] | None
    ) -> RoleGrant | None:
        admin = ADMIN_PERMISSIONS if admin_permissions is None else admin_permissions
        permissions = tuple(sorted(set(_strings(state.get("permissions")))))
        client = identity[0] if identity else ""
        return RoleGrant(
            scope=f"client {client}" if client else "company",
            permissions=permissions,
            privileged=tuple(p for p in permissions if p in admin),
        )

    async def read(
        self, p: KlipfolioProvider, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        scopes = sorted({r.scope for r in resources})
        wanted = {(r.scope, r.identity[1]) for r in resources}
        listed = await asyncio.gather(*(p.list_roles(s) for s in scopes))
        objs: list[LiveObject] = []
        details = []
        for scope, roles in zip(scopes, listed, strict=True):
            for role in roles:
                if (scope, role["name"]) in wanted:
                    details.append(p.read_role(scope, role["id"]))
                elif prune:
                    # Deleting needs no permissions: skip the per-role read.
                    objs.append(p.role_object(scope, role))
        objs.extend(o for o in await asyncio.gather(*details) if o is not None)
        return objs

    async def read_report(
        self, p: KlipfolioProvider, resources: list[Resource], live: list[LiveObject], whole: bool
    ) -> list[LiveObject]:
        # Every role of each scope read, in full: a role made by hand with admin
        # permissions must never show as having none. Read whole, `live` holds every listed
        # role (the undeclared ones without permissions); else the scopes are listed again.
        scopes = sorted({r.scope for r in resources})
        known = {(o.scope, o.identity[1]) for o in live}
        listed: list[tuple[str, dict[str, Any]]] = []
        if not whole:
            found = await asyncio.gather(*(p.list_roles(s) for s in scopes))
            for scope, roles in zip(scopes, found, strict=True):
                listed += [(scope, r) for r in roles if (scope, r["name"]) not in known]
        full = [o for o in live if "permissions" in o.state]
        partial = [(o.scope, {"id": o.handle["id"]}) for o in live if "permissions" not in o.state]
        reads = await asyncio.gather(*(p.read_role(s, r["id"]) for s, r in partial + listed))
        return full + [o for o in reads if o is not None]

    async def read_one(self, p: KlipfolioProvider, change: Change) -> LiveObject | None:
        scope = change.scope
        if change.live is not None:
            return await p.read_role(scope, change.live.handle["id"])
        name = change.identity[1]
        for role in await p.list_roles(scope):
            if role["name"] == name:
                return await p.read_role(scope, role["id"])
        return None

    async def write(self, p: KlipfolioProvider, change: Change, current: LiveObject | None) -> None:
        scope = change.scope
        params = {"client_id": scope} if scope else None
        name = change.identity[1]
        if change.action is Action.CREATE:
            assert change.desired is not None
            body: dict[str, Any] = {
                "name": name,
                "description": change.desired.get("description", ""),
                "permissions": change.desired.get("permissions", []),
            }
            if scope:
                body["client_id"] = scope

            async def find() -> dict[str, Any] | None:
                return next((r for r in await p.list_roles(scope) if r["name"] == name), None)

            await p.http.create_once(
                lambda: p.http.request("POST", "/roles", json=body),
                find,
                what=f"POST /roles for {name!r}",
            )
            return
        assert change.live is not None
        rid = p.path_id((current or change.live).handle["id"], "role id")
        if change.action is Action.DELETE:
            await p.http.request("DELETE", f"/roles/{rid}", params=params, accept=(404,))
            return
        assert change.desired is not None
        body = {
            "name": name,
            "description": change.desired.get("description", ""),
            "permissions": change.desired.get("permissions", []),
        }
        await p.http.request("PUT", f"/roles/{rid}", params=params, json=body)

    def may_prune(self, p: KlipfolioProvider, live: LiveObject) -> bool:
        return live.identity[1] not in (p.option("protected_roles") or ())

    async def scopes(self, p: KlipfolioProvider) -> list[str]:
        return ["", *await p.clients()]

    async def export(self, p: KlipfolioProvider, scopes: list[str]) -> list[dict[str, Any]]:
        listed = await asyncio.gather(*(p.list_roles(s) for s in scopes))
        reads = [
            p.read_role(s, r["id"]) for s, roles in zip(scopes, listed, strict=True) for r in roles
        ]
        specs: list[dict[str, Any]] = []
        for obj in await asyncio.gather(*reads):
            if obj is None:
                continue
            spec: dict[str, Any] = {"name": obj.identity[1]}
            if obj.scope:
                spec["client_id"] = obj.scope
            spec.update(description=obj.state["description"], permissions=obj.state["permissions"])
            specs.append(spec)
        return specs


class ShareRights(MemberListHandler["KlipfolioProvider"]):
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

    async def resolve_claims(self, p: KlipfolioProvider, keys: set[str]) -> dict[str, list[str]]:
        named = sorted(k for k in keys if k.startswith(GROUP + "name:"))
        if not named:
            return {}
        # As group_name: against the company's groups, never a label a share record shows.
        by_name = await p.groups_by_name()
        cut = len(GROUP + "name:")
        return {k: sorted(GROUP + i.lower() for i in by_name.get(k[cut:], [])) for k in named}

    async def resolve(self, p: KlipfolioProvider, resources: list[Resource]) -> list[Problem]:
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
        self, p: KlipfolioProvider, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        clients = sorted({r.scope for r in resources})
        found = await asyncio.gather(*(p.read_rights(c) for c in clients))
        return [obj for obj in found if obj is not None]

    async def read_report(
        self, p: KlipfolioProvider, resources: list[Resource], live: list[LiveObject], whole: bool
    ) -> list[LiveObject]:
        # The client accounts' names (`GET /clients`), which the share rights do not carry.
        names = await p.client_names() if live else {}
        return [dataclasses.replace(o, title=names.get(o.scope, "")) for o in live]

    async def read_one(self, p: KlipfolioProvider, change: Change) -> LiveObject | None:
        return await p.read_rights(change.scope)

    async def write(self, p: KlipfolioProvider, change: Change, current: LiveObject | None) -> None:
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

    async def scopes(self, p: KlipfolioProvider) -> list[str]:
        return await p.clients()

    async def export(self, p: KlipfolioProvider, scopes: list[str]) -> list[dict[str, Any]]:
        specs: list[dict[str, Any]] = []
        rights = await asyncio.gather(*(p.read_rights(s) for s in scopes))
        # Each group's name, written as a comment beside its id (NOTE in provider.py).
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


class KlipfolioProvider(Provider):
    TYPE = "klipfolio"
    DEFAULTS = VendorDefaults(
        base_url="https://app.klipfolio.com/api/1",
        credential_env="KLIPFOLIO_API_KEY",
        credential_key="api_key_env",
        credential_prefixes=("KLIPFOLIO_",),
        rate_limit_per_second=5,
        vendor_hosts=("app.klipfolio.com",),
        api_paths=("/api/1", "/api/1.0"),
        options={"protected_roles": ("Admin",)},
    )
    ID_FORMAT = ID
    HANDLERS = (Roles(), ShareRights())

    _key_works = False
    """Whether a call with this key has succeeded in this run (then a 401 on a share-rights
    write is the key's user lacking client.share, not a bad key)."""

    def auth_headers(self, credential: str) -> dict[str, str]:
        return {"kf-api-key": credential}

    def fatal(self, response: Response) -> ProviderError | None:
        status = response.status_code
        if status < 300:
            self._key_works = True
            return None
        if status != 401 or not self._key_works or response.method not in ("PUT", "DELETE"):
            return None
        path = response.url.removeprefix(self.http.base_url)
        if "/share-rights" not in path.partition("?")[0]:
            return None
        # The reference's other 401: "users from other companies and users who do not
        # have share rights". Only this object fails; the key itself works.
        code, message = self.parse_error(response)
        return ProviderError(
            self.alias,
            f"{response.method} {path}: the key's user lacks the client.share permission "
            f"(Klipfolio: {message})",
            status,
            code,
        )

    def exhausted(self, response: Response) -> ProviderError | None:
        # Klipfolio's daily request quota is answered 429, like its per-second limit; the
        # per-second limit clears within the retries, so a 429 that outlasts them is the
        # quota, and no later call of this run would be answered.
        code, message = self.parse_error(response)
        return ProviderStopped(
            self.alias,
            f"Klipfolio's request quota is used up ({message}: still 429 after every try); "
            "no further calls are made to this provider in this run",
            429,
            code,
        )

    def parse_error(self, response: Response) -> tuple[str | None, str]:
        body = json_or_none(response)
        meta = body.get("meta") if isinstance(body, dict) else None
        if isinstance(meta, dict):
            return meta.get("error_code"), str(meta.get("error_desc") or meta.get("error_code"))
        return None, f"HTTP {response.status_code}"

    async def groups_by_name(self) -> dict[str, list[str]]:
        """The company's groups (`GET /groups` without client_id): name -> ids; read once
        per run (a plan's names and the access report's Person claims share the read)."""
        cached: dict[str, list[str]] | None = getattr(self, "_group_names", None)
        if cached is not None:
            return cached
        data = await self.get_data("/groups")
        by_name: dict[str, list[str]] = {}
        for g in data.get("groups", []):
            by_name.setdefault(g["name"], []).append(g["id"])
        self._group_names = by_name
        return by_name

    async def clients(self) -> list[str]:
        return sorted(await self.client_names())

    async def client_names(self) -> dict[str, str]:
        """Every client account: id -> name (may be empty). Paged by limit and offset
        until meta.total clients are read."""
        ids: dict[str, str] = {}
        offset = 0
        while True:
            params = {"limit": str(CLIENT_PAGE), "offset": str(offset)}
            body = await self._body("/clients", params)
            page = body["data"].get("clients", [])
            records(self.alias, "GET /clients", page, "data.clients", id=str)
            meta = body.get("meta")
            total = meta.get("total") if isinstance(meta, dict) else None
            if total is None:
                total = len(page)  # an answer without a total is one page
            if not isinstance(total, int) or isinstance(total, bool) or total < 0:
                raise ProviderError(self.alias, "GET /clients: meta.total is not a count")
            ids.update((c["id"], str(c.get("name") or "")) for c in page)
            offset += len(page)
            if offset >= total:
                return ids
            if not page:
                raise ProviderError(
                    self.alias,
                    f"GET /clients: no clients at offset {offset}, though meta.total is {total}",
                )

    # -- calls -----------------------------------------------------------------------------

    async def get_data(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = (await self._body(path, params))["data"]
        return data

    async def _body(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """The whole answer (data and meta); its `data` checked to be an object."""
        response = await self.http.request("GET", path, params=params)
        body = json_or_none(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(data, dict):
            raise ProviderError(self.alias, f"GET {path}: response has no data object")
        return body

    async def list_roles(self, scope: str) -> list[dict[str, Any]]:
        data = await self.get_data("/roles", {"client_id": scope} if scope else None)
        roles = data.get("roles", [])
        return records(self.alias, "GET /roles", roles, "data.roles", id=str, name=str)

    def role_object(self, scope: str, role: dict[str, Any]) -> LiveObject:
        state = {"description": role.get("description") or ""}
        if "permissions" in role:
            state["permissions"] = sorted(set(role["permissions"]))
        return LiveObject((scope, role["name"]), state, {"id": role["id"]}, scope=scope)

    async def read_role(self, scope: str, rid: str) -> LiveObject | None:
        params = {"full": "true"}
        if scope:
            params["client_id"] = scope
        path = f"/roles/{self.path_id(rid, 'role id')}"
        response = await self.http.request("GET", path, params=params, accept=(404,))
        if response.status_code == 404:
            return None
        with reading(self.alias, f"GET {path}"):
            body = json_or_none(response) or {}
            role = body.get("data") or {}
            role.setdefault("permissions", [])
            if not isinstance(role["permissions"], list):
                raise TypeError("data.permissions is not a list")
            return self.role_object(scope, role)

    async def read_rights(self, client: str) -> LiveObject | None:
        path = f"/clients/{self.path_id(client, 'client_id')}/share-rights"
        data = await self.get_data(path)
        rights = data.get("share_rights", [])
        records(self.alias, f"GET {path}", rights, "data.share_rights", group_id=str)
        groups = {g["group_id"]: {"can_manage": bool(g.get("can_manage"))} for g in rights}
        names = {g["group_id"]: g.get("group_name") or "" for g in rights}
        return LiveObject((client,), {"groups": groups}, scope=client, labels=names)


CLIENT_PAGE = 100
"""Clients per `GET /clients` page (`limit`)."""

GROUP = "klipfolio-group:"
"""The access report's principal prefix for a group."""


_KNOWN = frozenset(PERMISSIONS)


def _permissions(spec: dict[str, Any]) -> list[tuple[tuple[Any, ...], str, bool]]:
    """(path, message, is an error) for each permission of a role spec not on the list."""
    found = []
    for i, name in enumerate(spec.get("permissions") or []):
        if isinstance(name, str) and name not in _KNOWN:
            message, error = unknown_permission(name)
            found.append((("permissions", i), f"spec.permissions.{i}: {message}", error))
    return found


def _strings(value: Any) -> list[str]:
    """A permission list as guards read it (a hand-edited plan may hold anything)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
