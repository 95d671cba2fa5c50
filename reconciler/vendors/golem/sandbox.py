"""Golem Cloud API simulator: permission shares owned by and targeting accounts.

Settings in its state slice: `accounts` (each `{id, email, name}`, or a bare id: an account
whose email nobody declared, whose grant recipients go unchecked), `create_target_by`
(`email`, the current server, default; `id`, the older form), `forbidden_accounts` (the
token cannot see them: 404), `private_accounts` (targets whose account the token may not
read: GET answers 404), `max_shares`.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from reconciler.sandbox.core import (
    Handler,
    HTTPError,
    Request,
    Response,
    Route,
    VendorApp,
    json_body,
)
from reconciler.vendors.golem.vocab import DATA_KEYS

_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "AUTH_UNAUTHORIZED",
    403: "AUTH_FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    422: "LIMIT_EXCEEDED",
    429: "LIMIT_EXCEEDED",
}
_GRANT = "INVALID_PERMISSION_SHARE_GRANT"
_JSON = "application/json; charset=utf-8"
_FIELDS = {"email": "targetAccountEmail", "id": "targetAccountId"}


class _Reject(Exception):
    """Ends a handler with a Golem error response."""

    def __init__(self, status: int, messages: str | list[str], code: str | None = None) -> None:
        super().__init__(messages)
        self.status = status
        self.messages = [messages] if isinstance(messages, str) else messages
        self.code = code


class GolemSandbox(VendorApp):
    name = "golem"

    def routes(self) -> list[Route]:
        # One route per path, so a 405 lists every method the path takes in `Allow`.
        shares = "/v1/permission-shares/{sid}"
        owned = "/v1/accounts/{acc}/permission-shares"
        return [
            _route(owned, GET=self.list_owned, POST=self.create_share),
            _route(owned + "/{name}", GET=self.get_by_name),
            _route("/v1/accounts/{acc}", GET=self.get_account),
            _route("/v1/accounts/{acc}/received-permission-shares", GET=self.list_received),
            _route(shares, GET=self.get_share, PATCH=self.update_share, DELETE=self.delete_share),
        ]

    # -- errors -----------------------------------------------------------------------

    def admit(self, headers: dict[str, str], path: str) -> Response | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip() == self.credential():
            return None
        message = "missing bearer token" if not token else "invalid bearer token"
        return self.error(401, message, "AUTH_UNAUTHORIZED")

    def error(self, status: int, message: str, code: str | None = None) -> Response:
        return self._errors(status, [message], code)

    def _errors(self, status: int, messages: list[str], code: str | None = None) -> Response:
        code = code or _ERROR_CODES.get(status, "INTERNAL_UNKNOWN")
        if status == 400:
            return _json({"code": code, "errors": messages}, status)
        return _json({"code": code, "error": "; ".join(messages)}, status)

    def on_exception(self, request: Request, exc: Exception) -> Response | None:
        if isinstance(exc, _Reject):
            return self._errors(exc.status, exc.messages, exc.code)
        return None

    def http_error(self, request: Request, exc: HTTPError) -> Response:
        response = self.error(exc.status, exc.detail)
        response.headers.update(exc.headers)  # 405: Allow
        return response

    # -- state ------------------------------------------------------------------------

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        """Account id -> `{id, email, name, declared}`; a bare id in the state gets a made-up
        email (`declared` False: its grants' recipients go unchecked)."""
        found = {}
        for a in self.state.setdefault("accounts", []):
            entry = a if isinstance(a, dict) else {"id": a}
            aid = str(entry["id"]).lower()
            email = str(entry.get("email") or f"{aid}@accounts.sandbox.invalid")
            found[aid] = {
                "id": aid,
                "email": email,
                "name": str(entry.get("name") or email.partition("@")[0]),
                "declared": bool(entry.get("email")),
            }
        return found

    def _hidden(self, acc: str) -> bool:
        """Accounts the token cannot see answer 404, as the server does (never 403)."""
        return acc in {str(a).lower() for a in self.state.get("forbidden_accounts", [])}

    @property
    def shares(self) -> list[dict[str, Any]]:
        """All shares, deleted ones included; fills in what a hand-written state file omits."""
        shares: list[dict[str, Any]] = self.state.setdefault("shares", [])
        for s in shares:
            s.setdefault("deleted", False)
            s.setdefault("revision", 0)
            if not s.get("currentCardId"):
                s["currentCardId"] = str(uuid.uuid4())
            data = s.get("data")
            if not isinstance(data, dict):
                data = s["data"] = {}
            for key in DATA_KEYS:
                if data.get(key) is None:
                    data[key] = []
        return shares

    def _live(self) -> list[dict[str, Any]]:
        return [s for s in self.shares if not s["deleted"]]

    def _account(self, request: Request) -> str:
        acc = _uuid(request.path_params["acc"], "account_id")
        if acc not in self.accounts or self._hidden(acc):
            raise _Reject(404, f"account {acc} not found", "ACCOUNT_NOT_FOUND")
        return acc

    def _share(self, request: Request) -> dict[str, Any]:
        sid = _uuid(request.path_params["sid"], "permission_share_id")
        share = next((s for s in self._live() if str(s["id"]).lower() == sid), None)
        if share is None or self._hidden(str(share["ownerAccountId"]).lower()):
            raise _Reject(404, f"permission share {sid} not found", "PERMISSION_SHARE_NOT_FOUND")
        return share

    def _check_recipients(self, target: str, data: dict[str, Any]) -> None:
        """Each grant's recipient (after ` @ `) must be `*` or the target's email."""
        account = self.accounts[target]
        if not account["declared"]:
            return
        email = account["email"].lower()
        bad = [
            f"data.{k}: grant {g!r} is for {who}, not the target account ({email}) or *"
            for k in DATA_KEYS
            for g in data[k]
            if (who := _recipient(g)) is not None and who not in ("*", email)
        ]
        if bad:
            raise _Reject(400, bad, _GRANT)

    def _check_name_free(self, owner: str, name: str, but: dict[str, Any] | None = None) -> None:
        for s in self._live():
            if s is not but and str(s["ownerAccountId"]).lower() == owner and s["name"] == name:
                raise _Reject(
                    409,
                    f"permission share {name} already exists",
                    "PERMISSION_SHARE_ALREADY_EXISTS",
                )

    # -- handlers -----------------------------------------------------------------------

    async def get_account(self, request: Request) -> Response:
        acc = self._account(request)
        private = {str(a).lower() for a in self.state.get("private_accounts", [])}
        if acc in private:
            raise _Reject(404, f"account {acc} not found", "ACCOUNT_NOT_FOUND")
        account = self.accounts[acc]
        return _json(
            {
                "id": acc,
                "revision": 0,
                "name": account["name"],
                "email": account["email"],
                "planId": str(uuid.uuid5(uuid.NAMESPACE_URL, "golem-plan")),
                "roles": [],
                "accountRootCardId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"golem-card:{acc}")),
            }
        )

    async def list_owned(self, request: Request) -> Response:
        acc = self._account(request)
        owned = [s for s in self._live() if str(s["ownerAccountId"]).lower() == acc]
        return _json({"values": [_render(s) for s in owned]})

    async def list_received(self, request: Request) -> Response:
        acc = self._account(request)
        received = [s for s in self._live() if str(s["targetAccountId"]).lower() == acc]
        return _json({"values": [_render(s) for s in received]})

    async def get_by_name(self, request: Request) -> Response:
        acc = self._account(request)
        name = request.path_params["name"]
        for s in self._live():
            if str(s["ownerAccountId"]).lower() == acc and s["name"] == name:
                return _json(_render(s))
        raise _Reject(404, f"permission share {name} not found", "PERMISSION_SHARE_NOT_FOUND")

    async def get_share(self, request: Request) -> Response:
        return _json(_render(self._share(request)))

    async def create_share(self, request: Request) -> Response:
        _uuid(request.path_params["acc"], "account_id")
        form = str(self.state.get("create_target_by") or "email")
        field = _FIELDS[form]
        body = _check_body(json_body(request), field)
        acc = self._account(request)
        if form == "id":
            target = _uuid(body[field], field)
            if target not in self.accounts:
                raise _Reject(404, f"target account {target} not found", "ACCOUNT_NOT_FOUND")
        else:
            wanted = body[field].strip().lower()
            by_email = [a for a, v in self.accounts.items() if v["email"].lower() == wanted]
            if not by_email:
                raise _Reject(404, f"no account with email {body[field]}", "ACCOUNT_NOT_FOUND")
            target = by_email[0]
        if target == acc:
            raise _Reject(400, "an account cannot share permissions with itself", _GRANT)
        self._check_recipients(target, body["data"])
        self._check_name_free(acc, body["name"])
        limit = self.state.get("max_shares")
        owned = [s for s in self._live() if str(s["ownerAccountId"]).lower() == acc]
        if limit is not None and len(owned) >= int(limit):
            raise _Reject(422, f"limit of {limit} permission shares reached", "LIMIT_EXCEEDED")
        share = {
            "id": str(uuid.uuid4()),
            "revision": 0,
            "ownerAccountId": acc,
            "targetAccountId": target,
            "name": body["name"],
            "currentCardId": str(uuid.uuid4()),
            "data": {k: list(body["data"][k]) for k in DATA_KEYS},
            "deleted": False,
        }
        self.shares.append(share)
        return _json(_render(share))

    async def update_share(self, request: Request) -> Response:
        _uuid(request.path_params["sid"], "permission_share_id")
        body = _check_body(json_body(request), "currentRevision")
        share = self._share(request)
        if body["currentRevision"] != share["revision"]:
            raise _Reject(
                409,
                f"revision {body['currentRevision']} is not the current revision"
                f" {share['revision']}",
                "CONCURRENT_UPDATE",
            )
        self._check_name_free(str(share["ownerAccountId"]).lower(), body["name"], but=share)
        target = str(share["targetAccountId"]).lower()
        if target in self.accounts:
            self._check_recipients(target, body["data"])
        share["name"] = body["name"]
        share["data"] = {k: list(body["data"][k]) for k in DATA_KEYS}
        share["revision"] += 1
        share["currentCardId"] = str(uuid.uuid4())
        return _json(_render(share))

    async def delete_share(self, request: Request) -> Response:
        _uuid(request.path_params["sid"], "permission_share_id")
        raw = request.query_params.get("current_revision")
        if raw is None or not re.fullmatch(r"[0-9]+", raw):
            raise _Reject(400, "query parameter current_revision must be a non-negative integer")
        share = self._share(request)
        if int(raw) != share["revision"]:
            raise _Reject(
                409,
                f"revision {raw} is not the current revision {share['revision']}",
                "CONCURRENT_UPDATE",
            )
        share["revision"] += 1
        share["deleted"] = True
        return _json(_render(share))


def _route(path: str, **handlers: Handler) -> Route:
    async def dispatch(request: Request) -> Any:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, dispatch, methods=list(handlers))


def _json(data: Any, status: int = 200) -> Response:
    """Golem's answers are `application/json; charset=utf-8`."""
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body=body.encode("utf-8"), status=status, headers={"Content-Type": _JSON})


def _recipient(grant: Any) -> str | None:
    """Who a grant string (`resource @ recipient : actions :`) is for, lower case; None
    for a string without that form (left to the other checks)."""
    if not isinstance(grant, str) or " @ " not in grant:
        return None
    return grant.split(" @ ", 1)[1].split(":", 1)[0].strip().lower()


def _uuid(value: Any, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise _Reject(400, f"{what} is not a valid UUID: {value}") from None


def _check_body(body: Any, first: str) -> dict[str, Any]:
    """A create (`first` = targetAccountEmail or targetAccountId) or update
    (currentRevision) body, or a 400."""
    if not isinstance(body, dict):
        raise _Reject(400, "request body must be a JSON object")
    problems = []
    value = body.get(first)
    if first == "currentRevision":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append("currentRevision must be a non-negative integer")
    elif not isinstance(value, str):
        problems.append(f"{first} is required")
    if not isinstance(body.get("name"), str) or not body["name"]:
        problems.append("name must be a non-empty string")
    data = body.get("data")
    if not isinstance(data, dict):
        problems.append("data is required")
    else:
        problems += [
            f"data.{k} must be a list" for k in DATA_KEYS if not isinstance(data.get(k), list)
        ]
    if problems:
        raise _Reject(400, problems)
    assert isinstance(data, dict)
    bad = [
        f"data.{k}: invalid grant {g!r}"
        for k in DATA_KEYS
        for g in data[k]
        if not isinstance(g, str) or not g.strip()
    ]
    if bad:
        raise _Reject(400, bad, _GRANT)
    return body


def _render(share: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": share["id"],
        "revision": share["revision"],
        "ownerAccountId": share["ownerAccountId"],
        "targetAccountId": share["targetAccountId"],
        "name": share["name"],
        "currentCardId": share["currentCardId"],
        "data": {k: list(share["data"][k]) for k in DATA_KEYS},
    }
