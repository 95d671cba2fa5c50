"""The HTTP retry rule: which answers and failures are tried again, how often, how long
to wait between tries (Retry-After, the vendor's documented wait, else backoff)."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from reconciler.core.errors import ProviderError, UnclearOutcome
from reconciler.plugin.response import Response
from reconciler.plugin.transport import TransportError, not_sent

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "PUT", "PATCH", "DELETE", "HEAD"})
MAX_TRIES = 5
"""Sends of one request in all, first try included: every send is a counted try."""
BACKOFF_BASE = 0.25
BACKOFF_CAP = 20.0

T = TypeVar("T")
R = TypeVar("R")


class Retryable(Exception):
    """A try that may be retried: a retryable status, or a transport error."""

    def __init__(self, response: Response | None, exc: TransportError | None) -> None:
        self.response = response
        self.exc = exc


def may_retry(method: str, exc: Retryable) -> bool:
    if method in IDEMPOTENT:
        return True
    # A POST is retried only when it surely did not happen: refused before sending, or
    # answered 429 (rejected, not processed).
    if exc.response is not None:
        return exc.response.status_code == 429
    return not_sent(exc.exc)


def delay(tries: int, exc: Retryable, rate_limit_wait: float = 0) -> float:
    """Exponential backoff with jitter after `tries` failed tries; Retry-After wins, and
    a 429 without one waits the vendor's `rate_limit_wait` when it documents one."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (tries - 1))
    delay = delay / 2 + random.uniform(0, delay / 2)
    if exc.response is not None:
        after = retry_after(exc.response.headers.get("retry-after"))
        if after is not None:
            delay = min(BACKOFF_CAP, after)
        elif exc.response.status_code == 429 and rate_limit_wait:
            delay = max(delay, rate_limit_wait)
    return delay


def retry_after(value: str | None) -> float | None:
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


async def create_once(
    alias: str,
    post: Callable[[], Awaitable[R]],
    find: Callable[[], Awaitable[T | None]],
    *,
    duplicate: Callable[[ProviderError], bool] | None = None,
    what: str = "POST",
) -> R | T:
    """A create that never makes a duplicate: POST, and after an unclear
    outcome look before posting again.

    `post()` sends the create, normally `lambda: http.request("POST", ...)`; its
    result is returned as soon as one try gives a clear answer. When it raises
    UnclearOutcome (the answer was lost, or a 5xx persisted through the retries
    `request` makes itself), `find()` reads the vendor again and returns the created
    object, or None when it is absent: found, that object is returned; absent, `post()`
    runs again, at most MAX_TRIES times in all. `duplicate(error)`, when given, names
    the "already exists" answers that, after an earlier unclear try, most likely mean
    our own lost create landed: they are looked up like an unclear outcome; before
    any unclear try they are raised like every other ProviderError.

    Returns what `post()` or `find()` returned (R | T; the caller parses either as it
    needs). Raises UnclearOutcome "<what>: no clear answer after MAX_TRIES tries" when
    every try was unclear and `find()` never saw the object; errors from `find()` and
    clear errors from `post()` propagate unchanged."""
    unclear = False
    for _ in range(MAX_TRIES):
        try:
            return await post()
        except UnclearOutcome:
            unclear = True
        except ProviderError as exc:
            if not (unclear and duplicate is not None and duplicate(exc)):
                raise
        found = await find()
        if found is not None:
            return found
    raise UnclearOutcome(alias, f"{what}: no clear answer after {MAX_TRIES} tries")
