"""The sandbox: one loopback HTTP server that answers all four vendor APIs from one state store.

Each vendor is a Starlette app mounted under its own prefix; latency, random faults,
scripted faults and out-of-band hooks are one ASGI middleware in front of them all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FAULT_STATUSES = (429, 500, 502, 503)


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


class VendorApp:
    """Base of a vendor simulator: its state slice, its routes, its error shape."""

    name: str = ""
    prefixes: tuple[str, ...] = ()
    base_path: str = ""
    """Path under the server root that a provider's base_url points at."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @property
    def state(self) -> dict[str, Any]:
        return self.sandbox.state.setdefault(self.name, {})

    def app(self) -> ASGIApp:
        raise NotImplementedError

    def error(self, status: int, message: str, code: str | None = None) -> Response:
        raise NotImplementedError

    def admit(self, headers: dict[str, str], path: str) -> Response | None:
        """The vendor's answer to a request it refuses (bad credential, quota), else None."""
        raise NotImplementedError

    def gated(self, app: ASGIApp) -> ASGIApp:
        """`app` behind this vendor's `admit` check."""
        return _Gate(app, self)

    def credential(self) -> str:
        return str(self.state.get("credential", f"sandbox-{self.name}-credential"))

    def retry_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.sandbox.retry_after)}


class Sandbox:
    """State, request log and knobs shared by the vendor apps."""

    def __init__(
        self,
        state: dict[str, Any] | None = None,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        retry_after: float = 1,
        seed: int | None = None,
    ) -> None:
        from reconciler.sandbox.registry import VENDOR_APPS

        self.state: dict[str, Any] = state if state is not None else {}
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.retry_after = retry_after
        self.random = random.Random(seed)
        self.log: list[Record] = []
        self.faults: list[Fault] = []
        self.hooks: list[Hook] = []
        self.count = 0
        self.vendors = {cls.name: cls(self) for cls in VENDOR_APPS}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.ids = 0

    # -- set-up -----------------------------------------------------------------

    def asgi(self) -> ASGIApp:
        routes = [
            Mount(prefix, app=vendor.app())
            for vendor in self.vendors.values()
            for prefix in vendor.prefixes
        ]
        return _Knobs(Starlette(routes=routes), self)

    def start(self, port: int = 0, host: str = "127.0.0.1") -> dict[str, str]:
        """Serve on loopback in a background thread; returns each vendor's base URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it, a response written as headers
        # then body waits on the client's delayed ACK (about 40 ms per request).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        self.port = sock.getsockname()[1]
        self.host = host
        config = uvicorn.Config(
            self.asgi(),
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            backlog=2048,
        )
        # A dropped connection is a fault we inject on purpose, not an error worth logging.
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL + 1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("sandbox did not start")
            time.sleep(0.01)
        return self.base_urls()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None

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


class _Gate:
    def __init__(self, app: ASGIApp, vendor: VendorApp) -> None:
        self.app = app
        self.vendor = vendor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        refusal = self.vendor.admit(headers, scope["path"])
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _Drop(Exception):
    """Ends a response half-way, as a lost connection would."""


class _Knobs:
    """Middleware: latency, faults, hooks and the request log."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sb = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sb = self.sb
        arrived = time.monotonic()
        method, path = scope["method"], scope["path"]
        vendor = sb.vendor_for(path)
        body_bytes = await _read_body(receive)
        sb.count += 1
        for hook in sb.hooks:
            if (
                not hook.done
                and sb.count > hook.after
                and hook.method in (None, method)
                and hook.path_contains in path
            ):
                hook.done = True
                hook.fn(sb)
        send = _delayed(send, arrived + sb.latency_ms / 1000) if sb.latency_ms else send
        fault = self._pick_fault(method, path)
        record = Record(
            vendor=vendor.name if vendor else "",
            method=method,
            path=path,
            query=scope.get("query_string", b"").decode(),
            status=0,
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=_json_or_text(body_bytes),
            fault=fault,
            at=arrived,
        )
        sb.log.append(record)
        if fault in ("429", "500", "502", "503") and vendor is not None:
            status = int(fault)
            response = vendor.error(
                status, "Rate Limit Reached" if status == 429 else "sandbox fault injected"
            )
            if status == 429:
                response.headers.update(vendor.retry_headers())
            record.status = status
            await response(scope, _replay(body_bytes), send)
            return
        if fault == "redirect":
            record.status = 307
            target = next(f.location for f in sb.faults if f.action == "redirect")
            await Response(status_code=307, headers={"location": target})(
                scope, _replay(body_bytes), send
            )
            return
        if fault == "drop":
            record.status = -1
            await _half_response(send)
            raise _Drop("connection dropped by sandbox fault")

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            if fault != "commit-then-drop":
                await send(message)

        await self.app(scope, _replay(body_bytes), capture)
        if fault == "commit-then-drop":
            await _half_response(send)
            raise _Drop("response dropped after commit by sandbox fault")

    def _pick_fault(self, method: str, path: str) -> str | None:
        for f in self.sb.faults:
            if f.times > 0 and f.matches(method, path):
                f.times -= 1
                return f.action
        if self.sb.fault_rate and self.sb.random.random() < self.sb.fault_rate:
            return self.sb.random.choice(["429", "500", "502", "503", "drop"])
        return None


def _delayed(send: Send, due: float) -> Send:
    """`send` that holds the answer until `due`: the latency knob is the time from a
    request's arrival to its response, whatever the handler itself took."""
    held = True

    async def delayed_send(message: Message) -> None:
        nonlocal held
        if held:
            held = False
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        await send(message)

    return delayed_send


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _half_response(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})


def _json_or_text(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


async def json_body(request: Request) -> Any:
    """The request's JSON body, or None when it is not JSON."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)
