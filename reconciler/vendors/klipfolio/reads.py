"""Klipfolio reads: the company's groups, client accounts (paged), roles and share rights."""

from __future__ import annotations

from typing import Any

from reconciler.plugin import (
    LiveObject,
    Provider,
    ProviderError,
    json_or_none,
    reading,
    records,
)


class KlipfolioReads(Provider):
    """The Klipfolio calls the kind handlers read through; `KlipfolioProvider` wires them."""

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
