"""Klipfolio API simulator: roles, groups, clients and client share rights.

State knobs: `key_can_share: false` makes the key's user one without share rights (share-
rights writes answer 401, as the reference says; reads still work); a client's
`unshare_refused: [group ids]` answers 403 to a DELETE of those groups' share rights while
they stay shared; `clients_page_size` is the `GET /clients` page size (default 100).
"""

from __future__ import annotations

import uuid
from typing import Any

from reconciler.sandbox.core import Request, Response, Route, VendorApp, json_body, json_response
from reconciler.vendors.klipfolio.vocab import PERMISSIONS

CLIENTS_PAGE = 100
"""`GET /clients` page size when the state sets none (the reference gives no default)."""

_ERROR_CODES = {
    400: "bad_request",
    401: "auth_not_provided",
    403: "access_denied",
    404: "not_found",
    429: "rate_limited",
}


class KlipfolioSandbox(VendorApp):
    name = "klipfolio"
    prefixes = ("/api/1", "/api/1.0")
    base_path = "/api/1"

    def routes(self) -> list[Route]:
        return [
            Route("/roles", self.list_roles, methods=["GET"]),
            Route("/roles", self.create_role, methods=["POST"]),
            Route("/roles/{rid}", self.get_role, methods=["GET"]),
            Route("/roles/{rid}", self.update_role, methods=["PUT"]),
            Route("/roles/{rid}", self.delete_role, methods=["DELETE"]),
            Route("/groups", self.list_groups, methods=["GET"]),
            Route("/clients", self.list_clients, methods=["GET"]),
            Route("/clients/{cid}/share-rights", self.get_rights, methods=["GET"]),
            Route("/clients/{cid}/share-rights", self.put_rights, methods=["PUT"]),
            Route("/clients/{cid}/share-rights/{gid}", self.delete_right, methods=["DELETE"]),
        ]

    def admit(self, headers: dict[str, str], path: str) -> Response | None:
        key = headers.get("kf-api-key")
        if key == self.credential():
            return None
        message = "This operation requires authentication" if key is None else "invalid API key"
        return self.error(401, message, "auth_not_provided")

    # -- envelope -----------------------------------------------------------------

    def ok(self, data: Any = None, status: int = 200, **meta: Any) -> Response:
        body: dict[str, Any] = {"meta": {"status": status, "success": True, **meta}}
        if data is not None:
            body["data"] = data
        return json_response(body, status)

    def error(self, status: int, message: str, code: str | None = None) -> Response:
        meta = {
            "success": False,
            "status": status,
            "error_code": code or _ERROR_CODES.get(status, "internal_error"),
            "error_desc": message,
        }
        return json_response({"meta": meta}, status)

    @property
    def roles(self) -> list[dict[str, Any]]:
        return self.state.setdefault("roles", [])

    @property
    def groups(self) -> list[dict[str, Any]]:
        return self.state.setdefault("groups", [])

    @property
    def clients(self) -> list[dict[str, Any]]:
        return self.state.setdefault("clients", [])

    def _scope(self, request: Request) -> str | None:
        return request.query_params.get("client_id") or None

    def _role(self, request: Request) -> dict[str, Any] | None:
        scope = self._scope(request)
        rid = request.path_params["rid"]
        for role in self.roles:
            if role["id"] == rid and (role.get("client_id") or None) == scope:
                return role
        return None

    def _client(self, cid: str) -> dict[str, Any] | None:
        return next((c for c in self.clients if c["id"] == cid), None)

    def _check_role_body(self, body: Any, partial: bool) -> str | None:
        if not isinstance(body, dict):
            return "request body must be a JSON object"
        if not partial and not isinstance(body.get("name"), str):
            return "name is required"
        perms = body.get("permissions")
        if perms is not None:
            if not isinstance(perms, list):
                return "permissions must be a list"
            unknown = [p for p in perms if p not in PERMISSIONS]
            if unknown:
                return f"unknown permission {unknown[0]}"
        return None

    # -- roles ----------------------------------------------------------------------

    async def list_roles(self, request: Request) -> Response:
        scope = self._scope(request)
        roles = [
            {"id": r["id"], "name": r["name"], "description": r.get("description", "")}
            for r in self.roles
            if (r.get("client_id") or None) == scope
        ]
        return self.ok({"roles": roles})

    async def get_role(self, request: Request) -> Response:
        role = self._role(request)
        if role is None:
            return self.error(404, "role not found")
        data = {
            "id": role["id"],
            "company": role.get("client_id") or "N/A",
            "name": role["name"],
            "description": role.get("description", ""),
        }
        if request.query_params.get("full") == "true":
            users = role.get("users", [])
            data.update(permissions=list(role.get("permissions", [])), users=users)
            data["num_users"] = len(users)
        return self.ok(data)

    async def create_role(self, request: Request) -> Response:
        body = json_body(request)
        problem = self._check_role_body(body, partial=False)
        if problem:
            return self.error(400, problem)
        scope = body.get("client_id") or None
        if scope and self._client(scope) is None:
            return self.error(404, "client not found")
        if any(
            r["name"] == body["name"] and (r.get("client_id") or None) == scope for r in self.roles
        ):
            return self.error(400, f"a role named {body['name']} already exists")
        rid = uuid.uuid4().hex
        self.roles.append(
            {
                "id": rid,
                "name": body["name"],
                "description": body.get("description", ""),
                "permissions": list(body.get("permissions", [])),
                "client_id": scope,
                "users": [],
            }
        )
        return self.ok({}, status=201, location=f"/roles/{rid}")

    async def update_role(self, request: Request) -> Response:
        role = self._role(request)
        if role is None:
            return self.error(404, "role not found")
        body = json_body(request)
        problem = self._check_role_body(body, partial=True)
        if problem:
            return self.error(400, problem)
        new_name = body.get("name", role["name"])
        if any(
            r is not role
            and r["name"] == new_name
            and (r.get("client_id") or None) == (role.get("client_id") or None)
            for r in self.roles
        ):
            return self.error(400, f"a role named {new_name} already exists")
        role["name"] = new_name
        if "description" in body:
            role["description"] = body["description"]
        if "permissions" in body:
            role["permissions"] = list(body["permissions"])
        return self.ok()

    async def delete_role(self, request: Request) -> Response:
        role = self._role(request)
        if role is None:
            return self.error(404, "role not found")
        self.roles.remove(role)
        return self.ok()

    # -- groups and clients -------------------------------------------------------------

    async def list_groups(self, request: Request) -> Response:
        scope = self._scope(request)
        groups = [
            {"id": g["id"], "name": g["name"], "description": g.get("description", "")}
            for g in self.groups
            if (g.get("client_id") or None) == scope
        ]
        return self.ok({"groups": groups})

    async def list_clients(self, request: Request) -> Response:
        size = int(self.state.get("clients_page_size", CLIENTS_PAGE))
        try:
            limit = int(request.query_params.get("limit", size))
            offset = int(request.query_params.get("offset", 0))
        except ValueError:
            return self.error(400, "limit and offset must be integers")
        if limit < 1 or offset < 0:
            return self.error(400, "limit must be positive and offset not negative")
        clients = [
            {
                "id": c["id"],
                "name": c.get("name", ""),
                "description": c.get("description", ""),
                "status": c.get("status", "active"),
            }
            for c in self.clients
        ]
        page = clients[offset : offset + min(limit, size)]
        return json_response(
            {
                "data": {"clients": page},
                "meta": {"status": 200, "success": True, "count": len(page), "total": len(clients)},
            }
        )

    def _no_share_rights(self) -> Response | None:
        """The reference's 401 to "users who do not have share rights", when so set."""
        if self.state.get("key_can_share", True):
            return None
        return self.error(
            401,
            "users from other companies and users who do not have share rights",
            "access_denied",
        )

    async def get_rights(self, request: Request) -> Response:
        client = self._client(request.path_params["cid"])
        if client is None:
            return self.error(404, "client not found")
        names = {g["id"]: g["name"] for g in self.groups}
        rights = [
            {
                "group_id": r["group_id"],
                "group_name": names.get(r["group_id"], ""),
                "can_manage": bool(r.get("can_manage")),
            }
            for r in client.setdefault("share_rights", [])
        ]
        return self.ok({"share_rights": rights})

    async def put_rights(self, request: Request) -> Response:
        client = self._client(request.path_params["cid"])
        if client is None:
            return self.error(404, "client not found")
        refused = self._no_share_rights()
        if refused is not None:
            return refused
        body = json_body(request)
        groups = body.get("groups") if isinstance(body, dict) else None
        if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("group_id"), str) for g in groups
        ):
            return self.error(400, "groups must be a list of {group_id, can_manage}")
        known = {g["id"] for g in self.groups}
        for g in groups:
            if g["group_id"] not in known:
                return self.error(404, f"group {g['group_id']} not found")
        rights = client.setdefault("share_rights", [])
        for g in groups:
            existing = next((r for r in rights if r["group_id"] == g["group_id"]), None)
            if existing is None:
                rights.append({"group_id": g["group_id"], "can_manage": bool(g.get("can_manage"))})
            else:
                existing["can_manage"] = bool(g.get("can_manage"))
        return self.ok({})

    async def delete_right(self, request: Request) -> Response:
        client = self._client(request.path_params["cid"])
        gid = request.path_params["gid"]
        if client is None or gid not in {g["id"] for g in self.groups}:
            return self.error(404, "client or group not found")
        refused = self._no_share_rights()
        if refused is not None:
            return refused
        rights = client.setdefault("share_rights", [])
        existing = next((r for r in rights if r["group_id"] == gid), None)
        if existing is None:
            return self.error(403, "client is not shared with group")
        if gid in client.get("unshare_refused", []):
            return self.error(403, "you may not change this client's share rights")
        rights.remove(existing)
        return self.ok({})
