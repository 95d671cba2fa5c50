"""BitSight API simulator: folders and their sharing options.

State: `folders` (each with an `owner` email), and `token_user`, the email of the API
token's user. The list shows every folder; only the ones the token's user owns can have
their sharing changed (`user_can_share`), as in BitSight. Without `token_user` the token's
user owns every folder. A 429 carries no `Retry-After` (BitSight documents none) unless the
sandbox was made with an explicit `retry_after`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any

from reconciler.sandbox.core import HTTPError, Request, Response, Route, VendorApp, json_response
from reconciler.vendors.bitsight.vocab import FLAGS as _FLAGS
from reconciler.vendors.bitsight.vocab import NOT_OWNER
from reconciler.vendors.bitsight.vocab import USER_FLAGS as _USER_FLAGS


class BitsightSandbox(VendorApp):
    name = "bitsight"

    def routes(self) -> list[Route]:
        return [
            Route("/ratings/v1/folders", self.list_folders, methods=["GET"]),
            Route("/ratings/v1/folders/{guid}", self.get_folder, methods=["GET"]),
            Route("/ratings/v1/folders/{guid}", self.patch_folder, methods=["PATCH"]),
        ]

    # -- envelope -----------------------------------------------------------------

    def admit(self, headers: dict[str, str], path: str) -> Response | None:
        auth = headers.get("authorization")
        if auth is None or not auth.lower().startswith("basic "):
            message = "Authentication credentials were not provided."
        elif _basic_user(auth) != (self.credential(), ""):
            message = "Invalid username/password."
        else:
            return None
        response = self.error(401, message)
        response.headers["WWW-Authenticate"] = 'Basic realm="api"'
        return response

    def error(self, status: int, message: str, code: str | None = None) -> Response:
        return json_response({"detail": message}, status)

    def retry_headers(self) -> dict[str, str]:
        # "Please wait 1 minute", and no header; a sandbox made with `retry_after` (the
        # test suite's 0) sends it, so that tests do not wait the vendor's minute.
        return {} if self.sandbox.retry_after is None else super().retry_headers()

    def http_error(self, request: Request, exc: HTTPError) -> Response:
        # Routing misses, in Django REST framework's words.
        if exc.status == 405:
            message = f'Method "{request.method}" not allowed.'
        else:
            message = "Not found."
        response = self.error(exc.status, message)
        response.headers.update(exc.headers)
        return response

    @property
    def folders(self) -> list[dict[str, Any]]:
        return self.state.setdefault("folders", [])

    def _folder(self, guid: str) -> dict[str, Any] | None:
        return next((f for f in self.folders if f.get("guid") == guid), None)

    def _owned(self, folder: dict[str, Any]) -> bool:
        """Whether the token's user owns `folder`, and so may change its sharing."""
        user = self.state.get("token_user")
        return user is None or str(folder.get("owner", "")).lower() == str(user).lower()

    def _render(self, folder: dict[str, Any], users_key: str) -> dict[str, Any]:
        """A folder as the API shows it; the user list is named `users_key`."""
        options = folder.get("shared_options") or {}
        users = options.get("shared_with", options.get("shared_with_users")) or []
        out = {
            "guid": folder.get("guid"),
            "name": folder.get("name", ""),
            "description": folder.get("description", ""),
            "owner": folder.get("owner", ""),
        }
        out.update({k: copy.deepcopy(v) for k, v in folder.items() if k != "shared_options"})
        out["shared_options"] = {
            **{flag: bool(options.get(flag, False)) for flag in _FLAGS},
            "user_can_share": self._owned(folder),
            users_key: [
                {"email": u["email"], **{f: bool(u.get(f, False)) for f in _USER_FLAGS}}
                for u in users
            ],
        }
        return out

    # -- folders ------------------------------------------------------------------

    async def list_folders(self, request: Request) -> Response:
        return json_response([self._render(f, "shared_with") for f in self.folders])

    async def get_folder(self, request: Request) -> Response:
        folder = self._folder(request.path_params["guid"])
        if folder is None:
            return self.error(404, "Not found.")
        return json_response(self._render(folder, "shared_with_users"))

    async def patch_folder(self, request: Request) -> Response:
        guid = request.path_params["guid"]
        folder = self._folder(guid)
        if folder is None:
            return self.error(404, "Not found.")
        if not self._owned(folder):
            return self.error(403, NOT_OWNER)
        try:
            body = json.loads(request.body)
        except ValueError as exc:
            return self.error(400, f"JSON parse error - {exc}")
        given = body.get("shared_options") if isinstance(body, dict) else None
        if not isinstance(given, dict):
            return self.error(400, "shared_options: this field is required and must be an object.")
        problem = _check_options(given)
        if problem:
            return self.error(400, problem)
        options = folder.setdefault("shared_options", {})
        for flag in _FLAGS:
            if flag in given:
                options[flag] = given[flag]
        users = given.get("shared_with_users", given.get("shared_with"))
        if users is not None:
            options.pop("shared_with_users", None)
            options["shared_with"] = [
                {"email": u["email"], **{f: bool(u.get(f, False)) for f in _USER_FLAGS}}
                for u in users
            ]
        return json_response(self._render(folder, "shared_with_users"))


def _check_options(options: dict[str, Any]) -> str | None:
    """What is wrong with a PATCH's `shared_options`, or None."""
    for flag in _FLAGS:
        if flag in options and not isinstance(options[flag], bool):
            return f"shared_options.{flag}: must be a boolean."
    for key in ("shared_with_users", "shared_with"):
        if key not in options:
            continue
        users = options[key]
        if not isinstance(users, list):
            return f"shared_options.{key}: must be a list of user objects."
        seen: set[str] = set()
        for i, user in enumerate(users):
            where = f"shared_options.{key}[{i}]"
            if not isinstance(user, dict):
                return f"{where}: must be an object."
            email = user.get("email")
            if not isinstance(email, str) or "@" not in email:
                return f"{where}.email: enter a valid email address."
            if email.lower() in seen:
                return f"{where}.email: {email} is listed twice."
            seen.add(email.lower())
            for flag in _USER_FLAGS:
                if flag in user and not isinstance(user[flag], bool):
                    return f"{where}.{flag}: must be a boolean."
    return None


def _basic_user(header: str) -> tuple[str, str] | None:
    """The (user, password) of a Basic `Authorization` header, or None when malformed."""
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
