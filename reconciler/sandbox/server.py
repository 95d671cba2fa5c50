"""The sandbox: every vendor's API, each at the root of its own loopback port, from one state
store.

Each vendor's `VendorApp` (reconciler.sandbox.core) is served by aiohttp's low-level
`web.Server` on a port of its own, all on one event loop (uvloop where installed) in a
background thread; latency, random faults, scripted faults, out-of-band hooks and the
request log sit in front of them all. A port per vendor, not a path prefix per vendor: a
client that keeps only the host and port of a base URL (simple-salesforce with its instance
URL) reaches the API as it reaches the vendor's.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from reconciler.core.runner import run
from reconciler.plugin.registry import vendors
from reconciler.sandbox.core import Request, VendorApp, json_or_text

FAULT_STATUSES = (429, 500, 502, 503)
_FAULT_ACTIONS = tuple(str(s) for s in FAULT_STATUSES)

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
        self.ports: dict[str, int] = {}
        """Each vendor's port, once started."""
        self.host = "127.0.0.1"
        self.scheme = "http"

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

    def start(
        self, port: int = 0, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> dict[str, str]:
        """Serve on loopback in a background thread, each vendor on a port of its own: free
        ones, or `port` for the first vendor and the next ones for the others, in the order
        of `vendors`. With `tls`, over HTTPS. Returns each vendor's base URL."""
        socks: dict[str, socket.socket] = {}
        try:
            for i, name in enumerate(self.vendors):
                socks[name] = _listen(host, port + i if port else 0)
        except OSError:
            for sock in socks.values():
                sock.close()
            raise
        self.ports = {name: sock.getsockname()[1] for name, sock in socks.items()}
        self.host = host
        self.scheme = "https" if tls is not None else "http"
        started = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(socks, tls, started, failure), name="sandbox", daemon=True
        )
        self._thread.start()
        if not started.wait(10) or failure:
            self.stop()
            raise RuntimeError("sandbox did not start") from (failure[0] if failure else None)
        return self.base_urls()

    def _run(
        self,
        socks: dict[str, socket.socket],
        tls: ssl.SSLContext | None,
        started: threading.Event,
        failure: list[BaseException],
    ) -> None:
        try:
            run(self._serve(socks, tls, started))
        except BaseException as exc:  # reported to start(), which raises
            failure.append(exc)
            for sock in socks.values():
                sock.close()
            started.set()

    async def _serve(
        self, socks: dict[str, socket.socket], tls: ssl.SSLContext | None, started: threading.Event
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        runners = []
        try:
            for name, sock in socks.items():
                answer = functools.partial(self._answer, self.vendors[name])
                server = web.Server(answer, keepalive_timeout=30, access_log=None, logger=_LOG)
                runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT)
                await runner.setup()
                runners.append(runner)
                await web.SockSite(runner, sock, backlog=2048, ssl_context=tls).start()
            started.set()
            await self._stopping.wait()
        finally:
            for runner in runners:
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
        """Each vendor's base URL: its own port, then its `base_path`."""
        return {name: self.url(name) + v.base_path for name, v in self.vendors.items()}

    def url(self, vendor: str) -> str:
        """The root of `vendor`'s port, `http://127.0.0.1:PORT` (its instance URL, for
        Salesforce)."""
        return f"{self.scheme}://{self.host}:{self.ports[vendor]}"

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

    # -- serving ------------------------------------------------------------------

    async def _answer(self, vendor: VendorApp, raw: web.BaseRequest) -> web.StreamResponse:
        """Latency, faults, hooks and the request log, in front of the vendor's app."""
        arrived = time.monotonic()
        method, path = raw.method, raw.path
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
            vendor=vendor.name,
            method=method,
            path=path,
            query=raw.rel_url.raw_query_string,
            status=0,
            headers=dict(request.headers),
            body=json_or_text(body),
            fault=fault,
            at=arrived,
        )
        self.log.append(record)
        response: web.StreamResponse
        if fault in _FAULT_ACTIONS:
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
            response = await vendor.dispatch(request)
            if fault == "commit-then-drop":
                record.status = response.status
                await _until(due)
                return await _half_response(raw)
        record.status = response.status
        await _until(due)
        return response

    def _pick_fault(self, method: str, path: str) -> str | None:
        for f in self.faults:
            if f.times > 0 and f.matches(method, path):
                f.times -= 1
                return f.action
        if self.fault_rate and self.random.random() < self.fault_rate:
            return self.random.choice([*_FAULT_ACTIONS, "drop"])
        return None


def _listen(host: str, port: int) -> socket.socket:
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
    return sock


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
