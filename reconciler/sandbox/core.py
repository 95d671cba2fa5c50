"""What a vendor simulator is made of: its routes, the request it sees, its JSON answers.

Each vendor is a `VendorApp` served at the root of its own loopback port by the server
(`reconciler.sandbox.server`); routing, Starlette-like slash redirects and the vendor's own
error shapes live here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web

Response = web.Response
"""What a vendor handler answers."""

_LOG = logging.getLogger("reconciler.sandbox.server")


class Host(Protocol):
    """What a vendor app uses of the server that hosts it (`reconciler.sandbox.Sandbox`)."""

    state: dict[str, Any]
    retry_after: float | None

    def new_id(self) -> int: ...


class Request:
    """What a vendor handler sees of one request (body already read)."""

    def __init__(self, raw: web.BaseRequest, body: bytes) -> None:
        self.raw = raw
        self.method = raw.method
        self.path = raw.path
        self.headers = {k.lower(): v for k, v in raw.headers.items()}
        # Like Starlette's query_params: blank values kept, the last of a repeated key wins.
        self.query_params = dict(parse_qsl(raw.rel_url.raw_query_string, keep_blank_values=True))
        self.path_params: dict[str, str] = {}
        self.body = body


Handler = Callable[[Request], Awaitable[web.StreamResponse]]


class Route:
    """`path` (relative to the vendor's prefix, `{name}` matching one segment) and methods."""

    def __init__(self, path: str, handler: Handler, methods: list[str]) -> None:
        self.path = path
        self.handler = handler
        self.methods = [m.upper() for m in methods]
        if "GET" in self.methods and "HEAD" not in self.methods:
            self.methods.append("HEAD")
        parts = re.split(r"\{(\w+)\}", path)  # literal text, then a parameter name, ...
        pattern = "".join(
            f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
        )
        self.regex = re.compile(f"^{pattern}$")


class HTTPError(Exception):
    """A routing miss (404) or a method a route does not take (405)."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(HTTPStatus(status).phrase)
        self.status = status
        self.detail = HTTPStatus(status).phrase
        self.headers = headers or {}


class VendorApp:
    """Base of a vendor simulator: its state slice, its routes, its error shape."""

    name: str = ""
    prefixes: tuple[str, ...] = ("",)
    """Path prefixes its routes live under, on its own port ("": the root)."""
    base_path: str = ""
    """Path after the port that a provider's base_url points at ("": the root)."""

    def __init__(self, sandbox: Host) -> None:
        self.sandbox = sandbox
        self._routes: list[Route] | None = None

    @property
    def state(self) -> dict[str, Any]:
        return self.sandbox.state.setdefault(self.name, {})

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def error(self, status: int, message: str, code: str | None = None) -> Response:
        raise NotImplementedError

    def admit(self, headers: dict[str, str], path: str) -> Response | None:
        """The vendor's answer to a request it refuses (bad credential, quota), else None."""
        raise NotImplementedError

    def http_error(self, request: Request, exc: HTTPError) -> Response:
        """The answer to a routing miss; by default Starlette's plain text."""
        return web.Response(text=exc.detail, status=exc.status, headers=exc.headers)

    def on_exception(self, request: Request, exc: Exception) -> Response | None:
        """The answer to an exception a handler raised, or None when it is not the vendor's."""
        return None

    def credential(self) -> str:
        return str(self.state.get("credential", f"sandbox-{self.name}-credential"))

    def retry_headers(self) -> dict[str, str]:
        after = self.sandbox.retry_after
        return {"Retry-After": str(1 if after is None else after)}

    async def dispatch(self, request: Request) -> web.StreamResponse:
        """The answer to any request on this vendor's port: under one of its prefixes, a
        prefix without its slash redirected, anything else 404."""
        path = request.path
        for prefix in self.prefixes:
            if path.startswith(prefix + "/"):
                return await self.handle(request, prefix)
        if path in self.prefixes:
            # Starlette's redirect_slashes at the top: a mount point without its slash.
            return slash_redirect(request, path + "/")
        return web.Response(text="Not Found", status=404)

    async def handle(self, request: Request, prefix: str) -> web.StreamResponse:
        """Admission check, then routing under `prefix`, then the handler."""
        refusal = self.admit(request.headers, request.path)
        if refusal is not None:
            return refusal
        try:
            try:
                return await self._route(request, request.path[len(prefix) :], prefix)
            except HTTPError as exc:
                return self.http_error(request, exc)
        except Exception as exc:
            answer = self.on_exception(request, exc)
            if answer is None:
                _LOG.exception("sandbox %s handler failed", self.name)
                return web.Response(text="Internal Server Error", status=500)
            return answer

    async def _route(self, request: Request, path: str, prefix: str) -> web.StreamResponse:
        if self._routes is None:
            self._routes = self.routes()
        partial: Route | None = None
        for route in self._routes:
            match = route.regex.match(path)
            if match is None:
                continue
            if request.method in route.methods:
                request.path_params = match.groupdict()
                return await route.handler(request)
            partial = partial or route
        if partial is not None:
            raise HTTPError(405, {"Allow": ", ".join(partial.methods)})
        if path != "/":
            # Starlette's redirect_slashes: the same path with or without a trailing slash.
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            if any(route.regex.match(other) for route in self._routes):
                return slash_redirect(request, prefix + other)
        raise HTTPError(404)


def slash_redirect(request: Request, path: str) -> Response:
    """307 to the same URL (query kept) at `path`: Starlette's `redirect_slashes`."""
    query = request.raw.rel_url.raw_query_string
    location = f"{request.raw.scheme}://{request.raw.host}{path}"
    return web.Response(status=307, headers={"location": location + (f"?{query}" if query else "")})


def json_or_text(raw: bytes) -> Any:
    """A request body as the request log keeps it."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def json_body(request: Request) -> Any:
    """The request's JSON body, or None when it is not JSON."""
    try:
        return json.loads(request.body) if request.body else None
    except ValueError:
        return None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return web.Response(
        body=body.encode("utf-8"), status=status, headers=headers, content_type="application/json"
    )
