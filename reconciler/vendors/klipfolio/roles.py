"""Klipfolio roles: company and client-scope roles, matched by name."""

from __future__ import annotations

import asyncio
from typing import Any

from reconciler.plugin import (
    Action,
    Change,
    KindHandler,
    KindSpec,
    LiveObject,
    Resource,
    RoleGrant,
    State,
)
from reconciler.vendors.klipfolio.reads import KlipfolioReads
from reconciler.vendors.klipfolio.vocab import (
    ADMIN_PERMISSIONS,
    PERMISSIONS,
    unknown_permission,
)

ROLE = "KlipfolioRole"


class Roles(KindHandler[KlipfolioReads]):
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
        self, p: KlipfolioReads, resources: list[Resource], prune: bool
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
        self, p: KlipfolioReads, resources: list[Resource], live: list[LiveObject], whole: bool
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

    async def read_one(self, p: KlipfolioReads, change: Change) -> LiveObject | None:
        scope = change.scope
        if change.live is not None:
            return await p.read_role(scope, change.live.handle["id"])
        name = change.identity[1]
        for role in await p.list_roles(scope):
            if role["name"] == name:
                return await p.read_role(scope, role["id"])
        return None

    async def write(self, p: KlipfolioReads, change: Change, current: LiveObject | None) -> None:
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

    def may_prune(self, p: KlipfolioReads, live: LiveObject) -> bool:
        return live.identity[1] not in (p.option("protected_roles") or ())

    async def scopes(self, p: KlipfolioReads) -> list[str]:
        return ["", *await p.clients()]

    async def export(self, p: KlipfolioReads, scopes: list[str]) -> list[dict[str, Any]]:
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
