"""Every vendor request: timeouts, retries, rate and concurrency limits, no redirects, redaction."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "PUT", "PATCH", "DELETE", "HEAD"})
MAX_TRIES = 5
BACKOFF_BASE = 0.25
BACKOFF_CAP = 20.0
RATE_MARGIN = 1.03

ErrorParser = Callable[[httpx.Response], tuple[str | None, str]]
"""Vendor error body -> (error code, human message)."""


class _Secrets(logging.Filter):
    """Replaces every registered credential in log records, wherever it hides."""

    values: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.values:
            msg = record.getMessage()
            for secret in self.values:
                msg = msg.replace(secret, "***")
            record.msg, record.args = msg, None
        return True


REDACT = _Secrets()


def register_secret(value: str) -> None:
    if value:
        _Secrets.values.add(value)


def install_redaction() -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(REDACT)


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
        url = path if path.startswith("http") else self.base_url + path
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
                    response = await self.transport.handle_async_request(request)
                    try:
                        await response.aread()
                    finally:
                        await response.aclose()
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
