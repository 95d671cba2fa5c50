"""Every vendor request: timeouts, retries, rate and concurrency limits, no redirects, redaction."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp
import httpx
from aiolimiter import AsyncLimiter
from httpx_aiohttp import AiohttpTransport
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from reconciler import __version__
from reconciler.errors import AuthError, ProviderError, ProviderStopped, UnclearOutcome
from reconciler.redact import REDACT, install, register

log = logging.getLogger(__name__)

# Redaction lives in reconciler.redact; these names are what providers and the CLI import.
register_secret = register
install_redaction = install
__all__ = ["REDACT", "Http", "Limits", "install_redaction", "register_secret"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "PUT", "PATCH", "DELETE", "HEAD"})
MAX_TRIES = 5
BACKOFF_BASE = 0.25
BACKOFF_CAP = 20.0
RATE_MARGIN = 1.03
MAX_BODY = 50 * 1024 * 1024  # bytes of an answer, after decompression

ErrorParser = Callable[[httpx.Response], tuple[str | None, str]]
"""Vendor error body -> (error code, human message)."""


@dataclass
class Stats:
    calls: int = 0
    retries: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    wait: float = 0.0


class _Retryable(Exception):
    def __init__(self, response: httpx.Response | None, exc: Exception | None) -> None:
        self.response = response
        self.exc = exc


@dataclass
class Limits:
    """Shared by all providers: the global `parallelism`."""

    parallelism: int = 10
    _sem: asyncio.Semaphore | None = None

    @property
    def semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.parallelism)
        return self._sem


class Http:
    """One provider's client. Providers call `request`; everything else happens here."""

    def __init__(
        self,
        alias: str,
        base_url: str,
        headers: dict[str, str],
        limits: Limits,
        error_parser: ErrorParser,
        credential_env: str,
        rate_limit_per_second: float = 0,
        max_concurrency: int = 0,
        timeout: float = 30.0,
        deadline: float | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self.alias = alias
        self.base_url = base_url.rstrip("/")
        self.limits = limits
        self.error_parser = error_parser
        self.credential_env = credential_env
        self.stats = Stats()
        self.stopped: ProviderError | None = None
        # One call per period, evenly spaced (no bursts), 3% slower than the limit so that
        # network jitter cannot squeeze one call too many into a second at the vendor.
        self._rate = (
            AsyncLimiter(1, RATE_MARGIN / rate_limit_per_second) if rate_limit_per_second else None
        )
        self._own = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        # httpx requests and responses over aiohttp's transport, sent straight to it: the
        # client layer (auth flows, cookies, redirects we never follow) cost more CPU per
        # call than the transport itself, and CPU is what keeps a large plan off the
        # latency bound. The transport never follows a redirect, so a 30x cannot carry
        # the credential to another host.
        self.transport = AiohttpTransport(
            verify=True,
            trust_env=False,
            limits=httpx.Limits(max_connections=max(limits.parallelism, max_concurrency)),
        )
        self.headers = httpx.Headers(
            {"user-agent": f"reconciler/{__version__}", "accept": "application/json", **headers}
        )
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        # The socket timeout is per read: a server that trickles a byte at a time would
        # never trip it. The deadline covers connect, headers and the whole body.
        self.deadline = timeout if deadline is None else deadline
        self.max_body = max_body

    async def close(self) -> None:
        await self.transport.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        ok: tuple[int, ...] = (200, 201, 204),
        accept: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one call, retried when that is safe; raise ProviderError unless the status is
        in `ok` or `accept` (statuses the caller handles itself)."""
        if self.stopped is not None:
            raise self.stopped
        url = self._url(method, path)
        idempotent = method in IDEMPOTENT

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, _Retryable):
                return False
            if idempotent:
                return True
            # A POST is retried only when it surely did not happen: refused before sending,
            # or answered 429 (rejected, not processed).
            if exc.response is not None:
                return exc.response.status_code == 429
            return exc.exc is not None and not_sent(exc.exc)

        try:
            try:
                response = await self._send(method, url, params, json)
            except _Retryable as first:
                if not retryable(first):
                    raise
                # Only a failed first try pays for the retry machinery.
                response = await self._retry(method, url, params, json, retryable, first)
        except _Retryable as final:
            if final.response is not None:
                return self._fail(method, url, final.response)
            if not idempotent and not (final.exc is not None and not_sent(final.exc)):
                raise UnclearOutcome(
                    self.alias, f"{method} {path}: no clear answer ({type(final.exc).__name__})"
                ) from None
            raise ProviderError(
                self.alias, f"{method} {path}: {type(final.exc).__name__} after {MAX_TRIES} tries"
            ) from None
        if response.status_code in ok or response.status_code in accept:
            return response
        return self._fail(method, url, response)

    def _url(self, method: str, path: str) -> str:
        """The absolute URL for `path`: a path under the base URL (the providers' form), or a
        link from an answer, resolved against the base as a browser would. Refused, before
        anything is sent, unless it stays on the base URL's scheme, host, port and path."""
        if path.startswith("/") and not path.startswith("//"):
            url = self.base_url + path
        else:
            url = urljoin(self.base_url + "/", path)
        why = _outside(url, self.base_url)
        if why:
            raise ProviderError(self.alias, f"{method} {why}; nothing was sent")
        return url

    async def _retry(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        body: Any,
        retryable: Callable[[BaseException], bool],
        first: _Retryable,
    ) -> httpx.Response:
        """Tries 2..MAX_TRIES, with backoff (and Retry-After) before each."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(MAX_TRIES - 1),
            retry=retry_if_exception(retryable),
            wait=_wait,
            reraise=True,
        )
        await asyncio.sleep(_delay(1, first))
        async for attempt in retrying:
            with attempt:
                self.stats.retries += 1
                return await self._send(method, url, params, body)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _send(
        self, method: str, url: str, params: dict[str, Any] | None, body: Any
    ) -> httpx.Response:
        # Provider limits first, so a slow vendor queues on its own limits, not the global one.
        if self._own is not None:
            await self._own.acquire()
        try:
            if self._rate is not None:
                await self._rate.acquire()
            async with self.limits.semaphore:
                start = time.monotonic()
                self.stats.calls += 1
                self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
                try:
                    request = httpx.Request(
                        method,
                        url,
                        params=params,
                        json=body,
                        headers=self.headers,
                        extensions=self._extensions,
                    )
                    try:
                        async with asyncio.timeout(self.deadline):
                            response = await self.transport.handle_async_request(request)
                            try:
                                await self._read(method, url, response)
                            finally:
                                await response.aclose()
                    except TimeoutError:
                        # Like any timeout: retried when that is safe, else an unclear outcome.
                        raise httpx.ReadTimeout(
                            f"no complete answer within {self.deadline:g} s", request=request
                        ) from None
                except (httpx.TransportError, httpx.DecodingError) as exc:
                    log.info("%s %s -> %s", method, url, type(exc).__name__)
                    raise _Retryable(None, exc) from None
        finally:
            if self._own is not None:
                self._own.release()
        if log.isEnabledFor(logging.INFO):
            log.info(
                "%s %s -> %s (%.0f ms)",
                method,
                response.request.url,
                response.status_code,
                (time.monotonic() - start) * 1000,
            )
        if response.status_code in RETRY_STATUSES:
            raise _Retryable(response, None)
        return response

    async def _read(self, method: str, url: str, response: httpx.Response) -> None:
        """The body, decompressed, as it arrives; refused past `max_body` bytes (counted
        after decompression, so a small gzip bomb cannot fill memory)."""
        what = f"{method} {url.removeprefix(self.base_url)}"
        # Not retried. A write's answer is lost with it: the write may have happened.
        error = ProviderError if method in ("GET", "HEAD") else UnclearOutcome
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            # Never asked for; and nested encodings would multiply a bomb's ratio.
            raise error(self.alias, f"{what}: answer in unsupported encoding {encoding!r}")
        inflate = _Inflate(encoding) if encoding not in ("", "identity") else None
        chunks: list[bytes] = []
        size = 0
        async for raw in response.aiter_raw():
            for chunk in inflate.feed(raw) if inflate else (raw,):
                size += len(chunk)
                if size > self.max_body:
                    raise error(
                        self.alias,
                        f"{what}: answer larger than "
                        f"{self.max_body / 1024 / 1024:g} MB (decompressed); refused",
                    )
                chunks.append(chunk)
        response._content = b"".join(chunks)

    def _fail(self, method: str, url: str, response: httpx.Response) -> httpx.Response:
        code, message = self.error_parser(response)
        status = response.status_code
        what = f"{method} {url.removeprefix(self.base_url)}: {message}"
        if status == 401:
            self.stopped = AuthError(
                self.alias,
                f"authentication failed ({message}); "
                f"check the credential in ${self.credential_env}",
                status,
                code,
            )
            raise self.stopped
        if status == 429:
            self.stopped = ProviderStopped(
                self.alias,
                f"rate limit or quota still exceeded after retries: {message}",
                status,
                code,
            )
            raise self.stopped
        if 300 <= status < 400:
            raise ProviderError(
                self.alias,
                f"{method} {url.removeprefix(self.base_url)}: unexpected redirect to "
                f"{response.headers.get('location', '?')} (not followed)",
                status,
            )
        if status >= 500:
            raise UnclearOutcome(self.alias, what, status, code)
        raise ProviderError(self.alias, what, status, code)

    def stop(self, error: ProviderError) -> None:
        self.stopped = error


class _Inflate:
    """gzip or deflate, decompressed a bounded piece at a time."""

    PIECE = 1024 * 1024

    def __init__(self, encoding: str) -> None:
        # gzip, or deflate as RFC 9110 means it (zlib-wrapped); both detected by header.
        self.z = zlib.decompressobj(zlib.MAX_WBITS | 32)
        self.may_be_raw = encoding == "deflate"

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            while True:
                piece = self.z.decompress(data, self.PIECE)
                if piece:
                    self.may_be_raw = False
                    yield piece
                data = self.z.unconsumed_tail
                if not data and len(piece) < self.PIECE:
                    return
        except zlib.error as exc:
            if not self.may_be_raw:
                raise httpx.DecodingError(f"bad compressed answer: {exc}") from None
            # Some servers send deflate without the zlib wrapper.
            self.may_be_raw = False
            self.z = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self.feed(data)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _outside(url: str, base_url: str) -> str | None:
    """Why `url` is not on the API at `base_url` (SPEC §1.1), or None when it is."""
    if any(ord(c) <= 0x20 or ord(c) == 0x7F or c == "\\" for c in url):
        return "refused: the URL holds a space, a control character or a backslash"
    try:
        target, base = httpx.URL(url), httpx.URL(base_url)
    except httpx.InvalidURL:
        return "refused: not a valid URL"
    where = f"{target.host}:{target.port or _DEFAULT_PORTS.get(target.scheme, '?')}"
    own = f"{base.host}:{base.port or _DEFAULT_PORTS.get(base.scheme, '?')}"
    if (target.scheme, where) != (base.scheme, own):
        return (
            f"to host {target.scheme}://{where} refused: this provider only talks to "
            f"{base.scheme}://{own}"
        )
    if target.userinfo or target.fragment:
        return "refused: the URL holds user info or a fragment"
    # Dot segments, plain or percent-encoded, could climb out of the API's path.
    segments = urlsplit(url).path.split("/")
    if any(unquote(s) in (".", "..") for s in segments):
        return f"to {where} refused: the path climbs out of {base.path or '/'}"
    prefix = base.raw_path.decode("ascii").partition("?")[0].rstrip("/")
    path = target.raw_path.decode("ascii").partition("?")[0]
    if prefix and not (path == prefix or path.startswith(prefix + "/")):
        return f"to {where}{path} refused: outside this provider's API path {prefix}"
    return None


def not_sent(exc: Exception) -> bool:
    """True only when the request surely never reached the server (the connection failed)."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientError):
        # The transport maps every lost connection to a connect error: look underneath.
        return isinstance(cause, aiohttp.ClientConnectorError)
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return _delay(state.attempt_number + 1, exc)


def _delay(attempt: int, exc: BaseException | None) -> float:
    """Exponential backoff with jitter after `attempt` failed tries; Retry-After wins."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    delay = delay / 2 + random.uniform(0, delay / 2)
    if isinstance(exc, _Retryable) and exc.response is not None:
        after = _retry_after(exc.response.headers.get("retry-after"))
        if after is not None:
            delay = min(BACKOFF_CAP, after)
    return delay


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
