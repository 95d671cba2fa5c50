"""Salesforce API simulator: report and dashboard folders and their shares."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from reconciler.sandbox.core import HTTPError, Request, Response, Route, VendorApp, json_response
from reconciler.vendors.salesforce.ids import ID as _ID
from reconciler.vendors.salesforce.ids import to18
from reconciler.vendors.salesforce.vocab import ACCESS_TYPES, ORG_WIDE, SHARE_TYPES

_ERROR_CODES = {
    400: "INVALID_INPUT",
    401: "INVALID_SESSION_ID",
    403: "INSUFFICIENT_ACCESS",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "REQUEST_LIMIT_EXCEEDED",
    502: "SERVER_UNAVAILABLE",
    503: "SERVER_UNAVAILABLE",
}
_NOT_FOUND = "The requested resource does not exist"
_SHARES_SINCE = (41, 0)
"""The first API version with folder shares."""
_FOLDERS_SINCE = (43, 0)
"""The first API version with the folder list (`GET /folders`)."""


@functools.lru_cache(maxsize=65536)
def _key(sf_id: str) -> str:
    """An id in the form two ids compare equal in (18 characters, lower case)."""
    try:
        return to18(sf_id).lower()
    except ValueError:
        return sf_id.lower()


class _ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class SalesforceSandbox(VendorApp):
    name = "salesforce"
    # At the root of its port: that root is the instance URL, the API is under
    # /services/data/{version}.

    def routes(self) -> list[Route]:
        api = "/services/data/{version}"
        shares, share = f"{api}/folders/{{fid}}/shares", f"{api}/folders/{{fid}}/shares/{{sid}}"
        return [
            Route(f"{api}/folders", self.list_folders, methods=["GET"]),
            Route(shares, self.list_shares, methods=["GET"]),
            Route(shares, self.add_shares, methods=["POST"]),
            Route(shares, self.replace_shares, methods=["PUT"]),
            Route(share, self.get_share, methods=["GET"]),
            Route(share, self.patch_share, methods=["PATCH"]),
            Route(share, self.delete_share, methods=["DELETE"]),
        ]

    # -- envelope -----------------------------------------------------------------

    def ok(self, data: Any, status: int = 200) -> Response:
        return json_response(data, status, headers=self.limit_headers())

    def admit(self, headers: dict[str, str], path: str) -> Response | None:
        """Checks the bearer token, counts usage against the daily limit, checks the version."""
        version = re.search(r"/services/data/([^/]*)", path)
        if headers.get("authorization") != f"Bearer {self.credential()}":
            return self.error(401, "Session expired or invalid")
        self.state["api_usage"] = self.usage + 1
        if self.usage > self.daily_limit:
            return self.error(403, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")
        if version is not None and not _supported(version.group(1)):
            return self.error(404, _NOT_FOUND)
        return None

    def error(self, status: int, message: str, code: str | None = None) -> Response:
        code = code or _ERROR_CODES.get(status, "UNKNOWN_EXCEPTION")
        return self.ok([{"errorCode": code, "message": message}], status)

    def limit_headers(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.usage}/{self.daily_limit}"}

    @property
    def usage(self) -> int:
        return int(self.state.get("api_usage", 0))

    @property
    def daily_limit(self) -> int:
        return int(self.state.get("daily_limit", 15000))

    def http_error(self, request: Request, exc: HTTPError) -> Response:
        allowed = f"HTTP Method '{request.method}' not allowed"
        response = self.error(exc.status, _NOT_FOUND if exc.status == 404 else allowed)
        response.headers.update(exc.headers)
        return response

    def on_exception(self, request: Request, exc: Exception) -> Response | None:
        if isinstance(exc, _ApiError):
            return self.error(exc.status, exc.message, exc.code)
        return None

    @property
    def folders(self) -> list[dict[str, Any]]:
        return self.state.setdefault("folders", [])

    def org_id(self) -> str:
        return to18(str(self.state.get("org_id", "00D000000000001")))

    def _folder(self, request: Request, write: bool = False) -> dict[str, Any]:
        key = _key(request.path_params["fid"])
        folder = next((f for f in self.folders if _key(f["id"]) == key), None)
        if folder is None or key in {_key(i) for i in self.state.get("no_access", [])}:
            raise _ApiError(404, _NOT_FOUND)
        if write and key in {_key(i) for i in self.state.get("read_only", [])}:
            raise _ApiError(403, "You do not have sufficient access to manage this folder")
        return folder

    def _share(self, request: Request, folder: dict[str, Any]) -> dict[str, Any]:
        key = _key(request.path_params["sid"])
        found = next(
            (s for s in folder.setdefault("shares", []) if _key(s["shareId"]) == key), None
        )
        if found is None:
            raise _ApiError(404, _NOT_FOUND)
        return found

    def label(self, share: dict[str, Any]) -> str:
        """The recipient's name, as the API shows it in `sharedWithLabel`, looked up when
        answering (a renamed group shows its new name): from the state's `labels` (id: name),
        `org_name` for an organization share; else a label the seed gave the share. Only a
        recipient the state does not name is shown by its id (a seed names its recipients)."""
        target, share_type = str(share["sharedWithId"]), share["shareType"].lower()
        names = {_key(k): str(v) for k, v in self.state.get("labels", {}).items()}
        if share_type == "organization" and self.state.get("org_name"):
            return str(self.state["org_name"])
        if _key(target) in names:
            return names[_key(target)]
        given = share.get("sharedWithLabel")
        return given if isinstance(given, str) and given else target

    def _render(
        self, request: Request, folder: dict[str, Any], share: dict[str, Any]
    ) -> dict[str, Any]:
        target = share["sharedWithId"]
        label = self.label(share)
        return {
            "accessType": share["accessType"].lower(),
            "shareId": share["shareId"],
            "shareType": share["shareType"].lower(),
            "sharedWithId": target,
            "sharedWithLabel": label,
            "url": f"{_api_root(request)}/folders/{folder['id']}/shares/{share['shareId']}",
        }

    def _all_shares(self, request: Request, folder: dict[str, Any]) -> Response:
        return self.ok(
            {"shares": [self._render(request, folder, s) for s in folder.get("shares", [])]}
        )

    def _new_share(self, given: dict[str, str], taken: set[str]) -> dict[str, str]:
        sid = ""
        while not sid or sid.lower() in taken:
            sid = to18("004" + str(self.sandbox.new_id()).zfill(12))
        taken.add(sid.lower())
        return {"shareId": sid, **given}

    def _share_ids(self) -> set[str]:
        return {_key(s["shareId"]) for f in self.folders for s in f.get("shares", [])}

    def _share_input(self, item: Any, where: str) -> dict[str, str]:
        """A requested share, checked and normalised to the stored form."""
        if not isinstance(item, dict):
            raise _ApiError(400, f"{where} must be an object")
        access = _enum(item.get("accessType"), ACCESS_TYPES, f"{where}.accessType")
        share_type = _enum(item.get("shareType"), SHARE_TYPES, f"{where}.shareType")
        raw = item.get("shareWithId")
        if share_type in ORG_WIDE and raw in (None, ""):
            target = self.org_id()
        else:
            if not isinstance(raw, str) or not _ID.fullmatch(raw):
                raise _ApiError(400, f"{where}.shareWithId: {raw!r} is not a 15 or 18 character id")
            target = to18(raw)
        return {"accessType": access, "shareType": share_type, "sharedWithId": target}

    async def _shares_body(self, request: Request) -> list[dict[str, str]]:
        body = await _json(request)
        items = body.get("shares") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise _ApiError(400, 'body must be {"shares": [{accessType, shareType, shareWithId}]}')
        given = [self._share_input(item, f"shares[{i}]") for i, item in enumerate(items)]
        seen: set[tuple[str, ...]] = set()
        for share in given:
            if _recipient(share) in seen:
                raise _ApiError(
                    400, f"{' '.join(_recipient(share))} is listed twice", "DUPLICATE_VALUE"
                )
            seen.add(_recipient(share))
        return given

    # -- folders ------------------------------------------------------------------

    async def list_folders(self, request: Request) -> Response:
        if not _supported(request.path_params["version"], _FOLDERS_SINCE):
            raise _ApiError(404, _NOT_FOUND)  # the folder list came with v43.0
        page = _positive(request.query_params.get("page", "1"), "page")
        size = _positive(request.query_params.get("pageSize", "10"), "pageSize")
        start, root = (page - 1) * size, _api_root(request)
        folders = [
            {k: f.get(k, "") for k in ("id", "label", "name", "type")}
            | {"url": f"{root}/folders/{f['id']}"}
            for f in self.folders[start : start + size]
        ]
        more = start + size < len(self.folders)
        next_url = f"{root}/folders?page={page + 1}&pageSize={size}" if more else None
        return self.ok(
            {"folders": folders, "totalSize": len(self.folders), "nextPageUrl": next_url}
        )

    # -- shares -------------------------------------------------------------------

    async def list_shares(self, request: Request) -> Response:
        return self._all_shares(request, self._folder(request))

    async def add_shares(self, request: Request) -> Response:
        folder = self._folder(request, write=True)
        given = await self._shares_body(request)
        existing = folder.setdefault("shares", [])
        held = {_recipient(s) for s in existing}
        for share in given:
            if _recipient(share) in held:
                raise _ApiError(
                    400, f"{' '.join(_recipient(share))} already has a share", "DUPLICATE_VALUE"
                )
        taken = self._share_ids()
        existing.extend(self._new_share(share, taken) for share in given)
        return self._all_shares(request, folder)

    async def replace_shares(self, request: Request) -> Response:
        folder = self._folder(request, write=True)
        given = await self._shares_body(request)
        taken = self._share_ids()
        folder["shares"] = [self._new_share(share, taken) for share in given]
        return self._all_shares(request, folder)

    async def get_share(self, request: Request) -> Response:
        folder = self._folder(request)
        return self.ok(self._render(request, folder, self._share(request, folder)))

    async def patch_share(self, request: Request) -> Response:
        folder = self._folder(request, write=True)
        share = self._share(request, folder)
        body = await _json(request)
        if not isinstance(body, dict):
            raise _ApiError(400, "body must be {accessType, shareType, shareWithId}")
        # Omitted recipient fields default to the share's own; given ones must match it.
        given = self._share_input(
            {"shareType": share["shareType"], "shareWithId": share["sharedWithId"], **body}, "body"
        )
        if _recipient(given) != _recipient(share):
            raise _ApiError(400, "shareType and shareWithId cannot change; only accessType can")
        share["accessType"] = given["accessType"]
        return self.ok(self._render(request, folder, share))

    async def delete_share(self, request: Request) -> Response:
        folder = self._folder(request, write=True)
        folder["shares"].remove(self._share(request, folder))
        return Response(status=204, headers=self.limit_headers())


def _api_root(request: Request) -> str:
    """`/services/data/vNN.N`: urls in answers are relative to the instance URL."""
    return f"/services/data/{request.path_params['version']}"


def _recipient(share: dict[str, str]) -> tuple[str, ...]:
    share_type = share["shareType"].lower()
    return (share_type,) if share_type in ORG_WIDE else (share_type, _key(share["sharedWithId"]))


def _enum(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise _ApiError(400, f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value.lower()


def _positive(value: str, where: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise _ApiError(400, f"{where} must be a positive integer, not {value!r}")
    return int(value)


async def _json(request: Request) -> Any:
    try:
        return json.loads(request.body)
    except ValueError as exc:
        raise _ApiError(
            400, f"request body is not valid JSON: {exc}", "JSON_PARSER_ERROR"
        ) from None


def _supported(version: str, since: tuple[int, int] = _SHARES_SINCE) -> bool:
    match = re.fullmatch(r"v(\d+)\.(\d)", version)
    return match is not None and (int(match.group(1)), int(match.group(2))) >= since
