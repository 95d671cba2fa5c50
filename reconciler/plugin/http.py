"""Every vendor request: one aiohttp session per provider, timeouts, limits, no redirects,
redaction; the retry rule is in `retry.py`, the answer type in `response.py`.

One HTTP stack, aiohttp, seen by providers only through `Http` and `Response`.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urljoin

from reconciler import __version__
from reconciler.core.errors import AuthError, ProviderError, ProviderStopped, UnclearOutcome
from reconciler.core.redact import REDACT, install, register
from reconciler.plugin.endpoints import outside
from reconciler.plugin.limits import MAX_BODY, RATE_MARGIN, Limits, Stats
from reconciler.plugin.response import ErrorParser, Fatal, Inflate, Response, json_or_none
from reconciler.plugin.retry import (
    IDEMPOTENT,
    MAX_TRIES,
    RETRY_STATUSES,
    Retryable,
    create_once,
    delay,
    may_retry,
)
from reconciler.plugin.transport import (
    ReadTimeout,
    TransportError,
    counted_sends,
    not_sent,
    transport_error,
)

if TYPE_CHECKING:
    # aiohttp (and aiolimiter, yarl) are imported where a session is made or a URL checked,
    # not here: every command imports this module, and most never send a request.
    import aiohttp
    from aiolimiter import AsyncLimiter

log = logging.getLogger(__name__)

# Redaction lives in reconciler.core.redact; these names are what providers and the CLI import.
register_secret = register
install_redaction = install
__all__ = [
    "MAX_BODY",
    "MAX_TRIES",
    "REDACT",
    "ErrorParser",
    "Fatal",
    "Http",
    "Limits",
    "Response",
    "install_redaction",
    "json_or_none",
    "register_secret",
]

KEEPALIVE = 5.0  # seconds an idle connection is kept

T = TypeVar("T")
R = TypeVar("R")


@cache
def _tls() -> ssl.SSLContext:
    """Certificates and host names verified against the system's trust store."""
    return ssl.create_default_context()


class Http:
    """One provider's client. Providers call `request` (and `create_once` for a create);
    everything else happens here.

    `fatal`, when given, sees every answer (any status, before retries and before the
    generic rules below) and may return the error to raise instead: a `ProviderStopped`
    or `AuthError` also stops the provider (every later call raises it at once), any
    other `ProviderError` fails only this call. Either way the answer is not retried.
    Example: a vendor's 403 that means its daily request quota is used up -> ProviderStopped.
    """

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
        fatal: Fatal | None = None,
        rate_limit_wait: float = 0,
        exhausted: Fatal | None = None,
    ) -> None:
        self.alias = alias
        self.rate_limit_wait = rate_limit_wait
        """Seconds to wait after a 429 without Retry-After (the vendor's documented wait)."""
        self.base_url = base_url.rstrip("/")
        self.limits = limits
        self.error_parser = error_parser
        self.credential_env = credential_env
        self.fatal = fatal
        self.exhausted = exhausted
        """The vendor's verdict on a 429 still answered after the last try (a quota): an
        error to raise (a ProviderStopped also stops the provider), or None: this request
        fails alone."""
        self.stats = Stats()
        self.stopped: ProviderError | None = None
        # One call per period, evenly spaced (no bursts), 3% slower than the limit so that
        # network jitter cannot squeeze one call too many into a second at the vendor.
        self._rate: AsyncLimiter | None = None
        if rate_limit_per_second:
            from aiolimiter import AsyncLimiter

            self._rate = AsyncLimiter(1, RATE_MARGIN / rate_limit_per_second)
        self._own = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._connections = max(limits.parallelism, max_concurrency)
        self.headers = {
            "user-agent": f"reconciler/{__version__}",
            "accept": "application/json",
            # Only what our own bounded inflater reads (aiohttp would add br or zstd when
            # their libraries happen to be installed).
            "accept-encoding": "gzip, deflate",
            **{k.lower(): v for k, v in headers.items()},
        }
        # The socket timeouts are per read: a server that trickles a byte at a time would
        # never trip them. The deadline covers connect, headers and the whole body.
        self._socket_timeout = timeout
        self.deadline = timeout if deadline is None else deadline
        self.max_body = max_body
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def ssl_context(self) -> ssl.SSLContext:
        return _tls()

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop, which it then belongs to. Never again
        # after close(): a call still running when the run ended (a sibling of a failed
        # read) would otherwise open a session that nothing closes.
        if self._closed:
            raise ProviderStopped(self.alias, "the run is over: no more calls")
        if self._session is None:
            import aiohttp

            timeout = self._socket_timeout
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections,
                    ssl=self.ssl_context if self.base_url.startswith("https:") else True,
                    keepalive_timeout=KEEPALIVE,
                ),
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=timeout, sock_connect=timeout, sock_read=timeout
                ),
                # Redirects are never followed (a 30x must not carry the credential to
                # another host); bodies are decompressed by us, bounded; no proxies or
                # netrc from the environment; no cookies.
                auto_decompress=False,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                raise_for_status=False,
                middlewares=(counted_sends,),
            )
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def stop(self, error: ProviderError) -> None:
        """No further calls for this provider in this run: each raises `error`."""
        self.stopped = error

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        ok: tuple[int, ...] = (200, 201, 204),
        accept: tuple[int, ...] = (),
    ) -> Response:
        """Send one call, retried when that is safe; raise ProviderError unless the status is
        in `ok` or `accept` (statuses the caller handles itself).

        GET, PUT, PATCH, DELETE are retried on a transport error and on 429, 500, 502, 503,
        504 (Retry-After honoured), MAX_TRIES tries in all. A POST is retried only when it
        surely did not happen (no connection, or 429); otherwise a lost or 5xx answer
        raises UnclearOutcome (see `create_once`)."""
        if self.stopped is not None:
            raise self.stopped
        url = self._url(method, path)
        query = ("&" if "?" in url else "?") + urlencode(params) if params else ""
        body = (
            None
            if json is None
            else jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        )
        tries = 1
        while True:
            try:
                response = await self._send(method, url, query, body)
                break
            except Retryable as exc:
                if tries >= MAX_TRIES or not may_retry(method, exc):
                    return self._give_up(method, path, url, exc)
                await asyncio.sleep(delay(tries, exc, self.rate_limit_wait))
                if self.stopped is not None:  # stopped by another call meanwhile
                    raise self.stopped from None
                tries += 1
                self.stats.retries += 1
        if response.status_code in ok or response.status_code in accept:
            return response
        return self._fail(method, url, response)

    async def create_once(
        self,
        post: Callable[[], Awaitable[R]],
        find: Callable[[], Awaitable[T | None]],
        *,
        duplicate: Callable[[ProviderError], bool] | None = None,
        what: str = "POST",
    ) -> R | T:
        """A create that never makes a duplicate: `retry.create_once` for this provider."""
        return await create_once(self.alias, post, find, duplicate=duplicate, what=what)

    def _url(self, method: str, path: str) -> str:
        """The absolute URL for `path`: a path under the base URL (the providers' form), or a
        link from an answer, resolved against the base as a browser would. Refused, before
        anything is sent, unless it stays on the base URL's scheme, host, port and path."""
        if path.startswith("/") and not path.startswith("//"):
            url = self.base_url + path
        else:
            url = urljoin(self.base_url + "/", path)
        why = outside(url, self.base_url)
        if why:
            raise ProviderError(self.alias, f"{method} {why}; nothing was sent")
        return url

    async def _send(self, method: str, url: str, query: str, body: str | None) -> Response:
        """One try: the answer, read whole; Retryable for a transport error or a
        retryable status; the vendor's fatal error when `fatal` names one."""
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
                    async with asyncio.timeout(self.deadline):
                        response = await self._exchange(method, url, query, body)
                except Exception as error:
                    import aiohttp  # loaded already: the session made the request

                    # aiohttp's socket timeouts are TimeoutErrors too: theirs first.
                    if isinstance(error, aiohttp.ClientError):
                        exc = transport_error(error)
                    elif isinstance(error, TransportError):
                        exc = error
                    elif isinstance(error, TimeoutError):
                        # The deadline: retried when that is safe, else an unclear outcome.
                        exc = ReadTimeout(f"no complete answer within {self.deadline:g} s")
                    else:
                        raise
                    log.info("%s %s -> %s", method, url, type(exc).__name__)
                    raise Retryable(None, exc) from None
        finally:
            if self._own is not None:
                self._own.release()
        if log.isEnabledFor(logging.INFO):
            log.info(
                "%s %s%s -> %s (%.0f ms)",
                method,
                url,
                query,
                response.status_code,
                (time.monotonic() - start) * 1000,
            )
        if self.fatal is not None:
            verdict = self.fatal(response)
            if verdict is not None:
                if isinstance(verdict, ProviderStopped | AuthError):
                    self.stopped = verdict
                raise verdict
        if response.status_code in RETRY_STATUSES:
            raise Retryable(response, None)
        return response

    async def _exchange(self, method: str, url: str, query: str, body: str | None) -> Response:
        async with self._client().request(
            method,
            url + query,
            data=None if body is None else body.encode(),
            headers=None if body is None else {"content-type": "application/json; charset=utf-8"},
            allow_redirects=False,
        ) as raw:
            content = await self._read(method, url, raw)
            return Response(raw.status, raw.headers, content, method, url + query)

    async def _read(self, method: str, url: str, raw: aiohttp.ClientResponse) -> bytes:
        """The body, decompressed, as it arrives; refused past `max_body` bytes (counted
        after decompression, so a small gzip bomb cannot fill memory)."""
        encoding = raw.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            length = raw.content_length
            if length is not None and length <= self.max_body:
                # aiohttp reads exactly Content-Length bytes: bounded, and the fast path.
                return await raw.read()
            inflate = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            inflate = Inflate(encoding)
        else:
            # Never asked for; and nested encodings would multiply a bomb's ratio.
            raise self._refused(method, url, f"answer in unsupported encoding {encoding!r}")
        chunks: list[bytes] = []
        size = 0
        async for data in raw.content.iter_any():
            for chunk in inflate.feed(data) if inflate else (data,):
                size += len(chunk)
                if size > self.max_body:
                    raise self._refused(
                        method,
                        url,
                        f"answer larger than {self.max_body / 1024 / 1024:g} MB "
                        "(decompressed); refused",
                    )
                chunks.append(chunk)
        return b"".join(chunks)

    def _refused(self, method: str, url: str, why: str) -> ProviderError:
        """An answer we will not read: not retried. A write's answer is lost with it, so
        the write may have happened."""
        error = ProviderError if method in ("GET", "HEAD") else UnclearOutcome
        return error(self.alias, f"{method} {url.removeprefix(self.base_url)}: {why}")

    def _give_up(self, method: str, path: str, url: str, final: Retryable) -> Response:
        if final.response is not None:
            return self._fail(method, url, final.response)
        name = type(final.exc).__name__
        if method not in IDEMPOTENT and not not_sent(final.exc):
            raise UnclearOutcome(self.alias, f"{method} {path}: no clear answer ({name})")
        raise ProviderError(self.alias, f"{method} {path}: {name} after {MAX_TRIES} tries")

    def _fail(self, method: str, url: str, response: Response) -> Response:
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
            # Only a vendor's quota stops the provider (its `exhausted` says which 429 is
            # one); any other 429 that outlasts the retries fails this request alone.
            verdict = self.exhausted(response) if self.exhausted is not None else None
            if verdict is not None:
                if isinstance(verdict, ProviderStopped | AuthError):
                    self.stopped = verdict
                raise verdict
            raise ProviderError(
                self.alias, f"{what} (still rate limited after {MAX_TRIES} tries)", status, code
            )
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
