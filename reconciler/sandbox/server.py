"""The sandbox: one loopback HTTP server that answers every vendor's API from one state store.

The server is aiohttp's low-level `web.Server`, run on its own event loop (uvloop where
installed) in a background thread. Each vendor is a `VendorApp` answering under its own
path prefixes; latency, random faults, scripted faults, out-of-band hooks and the request
log sit in front of them all.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from reconciler.core.runner import run
from reconciler.plugin.registry import vendors

FAULT_STATUSES = (429, 500, 502, 503)
_FAULT_ACTIONS = tuple(str(s) for s in FAULT_STATUSES)

Response = web.Response
"""What a vendor handler answers."""

SHUTDOWN_TIMEOUT = 0.02
"""Seconds stop() gives a request still being answered before cutting it off."""

_LOG = logging.getLogger("reconciler.sandbox.server")
# A dropped connection is a fault we inject on purpose, not an error worth logging.
_LOG.setLevel(logging.CRITICAL + 1)


@dataclass
class Record:
    """One request the sandbox answered."""

    vendor: str
    method: str
    path: str
    query: str
    status: int
    headers: dict[str, str]
    body: Any
    fault: str | None = None
    at: float = 0.0
    """time.monotonic() when the request arrived."""

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Fault:
    """A scripted fault: the next `times` requests matching method and path fragment."""

    action: str  # "429" | "500" | "502" | "503" | "drop" | "commit-then-drop" | "redirect"
    method: str | None = None
    path_contains: str = ""
    times: int = 1
    location: str = ""
    """Where a "redirect" fault points (answered 307)."""

    def matches(self, method: str, path: str) -> bool:
        return (self.method in (None, method)) and self.path_contains in path


@dataclass
class Hook:
    """Runs `fn(sandbox)` once, before the first request matching, after `after` requests."""

    fn: Callable[[Sandbox], None]
    after: int = 0
    method: str | None = None
    path_contains: str = ""
    done: bool = False


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
    prefixes: tuple[str, ...] = ()
    base_path: str = ""
    """Path under the server root that a provider's base_url points at."""

    def __init__(self, sandbox: Sandbox) -> None:
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
                return _slash_redirect(request, prefix + other)
        raise HTTPError(404)


class Sandbox:
    """State, request log and knobs shared by the vendor apps."""

    def __init__(
        self,
        state: dict[str, Any] | None = None,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        retry_after: float | None = None,  # for 429/503 faults; None: each vendor's own
        seed: int | None = None,
    ) -> None:
        self.state: dict[str, Any] = state if state is not None else {}
        self._initial = copy.deepcopy(self.state)
        self._knobs = (latency_ms, fault_rate, retry_after, seed)
        self._fresh()
        self.vendors = {t: v.sandbox_class()(self) for t, v in vendors().items()}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.port = 0
        self.host = "127.0.0.1"

    def reset(self, state: dict[str, Any] | None = None) -> None:
        """Back to a fresh sandbox on the same server: a copy of the seed state (or `state`),
        an empty log, no faults or hooks, counters at zero, the constructor's knobs."""
        self.state = copy.deepcopy(state if state is not None else self._initial)
        self._fresh()

    def _fresh(self) -> None:
        latency_ms, fault_rate, retry_after, seed = self._knobs
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.retry_after = retry_after
        self.random = random.Random(seed)
        self.log: list[Record] = []
        self.faults: list[Fault] = []
        self.hooks: list[Hook] = []
        self.count = 0
        self.ids = 0

    # -- set-up -----------------------------------------------------------------

    def start(self, port: int = 0, host: str = "127.0.0.1") -> dict[str, str]:
        """Serve on loopback in a background thread; returns each vendor's base URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Accepted connections inherit this: without it, a response written as headers
            # then body waits on the client's delayed ACK (about 40 ms per request).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self.host = host
        started = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(sock, started, failure), name="sandbox", daemon=True
        )
        self._thread.start()
        if not started.wait(10) or failure:
            self.stop()
            raise RuntimeError("sandbox did not start") from (failure[0] if failure else None)
        return self.base_urls()

    def _run(
        self, sock: socket.socket, started: threading.Event, failure: list[BaseException]
    ) -> None:
        try:
            run(self._serve(sock, started))
        except BaseException as exc:  # reported to start(), which raises
            failure.append(exc)
            sock.close()
            started.set()

    async def _serve(self, sock: socket.socket, started: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = web.Server(self._answer, keepalive_timeout=30, access_log=None, logger=_LOG)
        runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            await web.SockSite(runner, sock, backlog=2048).start()
            started.set()
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    def stop(self) -> None:
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if thread is None:
            return
        if loop is not None and stopping is not None:
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop already ended
                pass
        thread.join(timeout=10)
        self._thread = self._loop = self._stopping = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def base_urls(self) -> dict[str, str]:
        root = f"http://{self.host}:{self.port}"
        return {name: root + v.base_path for name, v in self.vendors.items()}

    def credentials(self) -> dict[str, str]:
        return {name: v.credential() for name, v in self.vendors.items()}

    # -- what tests look at -------------------------------------------------------

    def writes(self, vendor: str | None = None) -> list[Record]:
        return [r for r in self.log if r.is_write and vendor in (None, r.vendor)]

    def requests(self, vendor: str | None = None) -> list[Record]:
        return [r for r in self.log if vendor in (None, r.vendor)]

    def new_id(self) -> int:
        self.ids += 1
        return self.ids

    def vendor_for(self, path: str) -> VendorApp | None:
        for vendor in self.vendors.values():
            if any(path.startswith(p + "/") or path == p for p in vendor.prefixes):
                return vendor
        return None

    # -- serving ------------------------------------------------------------------

    async def _answer(self, raw: web.BaseRequest) -> web.StreamResponse:
        """Latency, faults, hooks and the request log, in front of the vendor apps."""
        arrived = time.monotonic()
        method, path = raw.method, raw.path
        vendor = self.vendor_for(path)
        body = await raw.content.read()
        self.count += 1
        for hook in self.hooks:
            if (
                not hook.done
                and self.count > hook.after
                and hook.method in (None, method)
                and hook.path_contains in path
            ):
                hook.done = True
                hook.fn(self)
        # The latency knob is the time from a request's arrival to its response,
        # whatever the handler itself took.
        due = arrived + self.latency_ms / 1000 if self.latency_ms else 0.0
        fault = self._pick_fault(method, path)
        request = Request(raw, body)
        record = Record(
            vendor=vendor.name if vendor else "",
            method=method,
            path=path,
            query=raw.rel_url.raw_query_string,
            status=0,
            headers=dict(request.headers),
            body=_json_or_text(body),
            fault=fault,
            at=arrived,
        )
        self.log.append(record)
        response: web.StreamResponse
        if fault in _FAULT_ACTIONS and vendor is not None:
            status = int(fault)
            response = vendor.error(
                status, "Rate Limit Reached" if status == 429 else "sandbox fault injected"
            )
            if status == 429:
                response.headers.update(vendor.retry_headers())
        elif fault == "redirect":
            target = next(f.location for f in self.faults if f.action == "redirect")
            response = web.Response(status=307, headers={"location": target})
        elif fault == "drop":
            record.status = -1
            await _until(due)
            return await _half_response(raw)
        else:
            response = await self._dispatch(request)
            if fault == "commit-then-drop":
                record.status = response.status
                await _until(due)
                return await _half_response(raw)
        record.status = response.status
        await _until(due)
        return response

    async def _dispatch(self, request: Request) -> web.StreamResponse:
        path = request.path
        for vendor in self.vendors.values():
            for prefix in vendor.prefixes:
                if path.startswith(prefix + "/"):
                    return await vendor.handle(request, prefix)
        for vendor in self.vendors.values():
            if path in vendor.prefixes:
                # Starlette's redirect_slashes at the top: a mount point without its slash.
                return _slash_redirect(request, path + "/")
        return web.Response(text="Not Found", status=404)

    def _pick_fault(self, method: str, path: str) -> str | None:
        for f in self.faults:
            if f.times > 0 and f.matches(method, path):
                f.times -= 1
                return f.action
        if self.fault_rate and self.random.random() < self.fault_rate:
            return self.random.choice([*_FAULT_ACTIONS, "drop"])
        return None


def _slash_redirect(request: Request, path: str) -> Response:
    """307 to the same URL (query kept) at `path`: Starlette's `redirect_slashes`."""
    query = request.raw.rel_url.raw_query_string
    location = f"{request.raw.scheme}://{request.raw.host}{path}"
    return web.Response(status=307, headers={"location": location + (f"?{query}" if query else "")})


async def _until(due: float) -> None:
    if due:
        await asyncio.sleep(max(0.0, due - time.monotonic()))


async def _half_response(raw: web.BaseRequest) -> web.StreamResponse:
    """Headers promising 1000 bytes, 11 of them, then the connection closes: a lost
    connection half-way through an answer, as the client sees it."""
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "application/json", "Content-Length": "1000"}
    )
    response.force_close()
    await response.prepare(raw)
    await response.write(b'{"partial":')
    if raw.transport is not None:
        raw.transport.close()
    return response


def _json_or_text(raw: bytes) -> Any:
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
