"""The one source of "now": expiries, ignores and reports read the time here, never elsewhere.

`--at` (plan, apply, drift, expiring, access) and tests set it with `frozen(when)`; nothing
sleeps to cross a date.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

_fixed: datetime | None = None

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$")
_SPAN = re.compile(r"^([0-9]+) ?([dhw])$")
MAX_SPAN = timedelta(days=36500)
"""The longest `--within` window: a hundred years."""
AT_YEARS = (1970, 9000)
"""The years `--at` may name: any later and a window or limit added to it leaves the
calendar."""


def now() -> datetime:
    """The current time (UTC), or the time `--at` asked for."""
    return _fixed if _fixed is not None else datetime.now(UTC)


@contextlib.contextmanager
def frozen(when: datetime | None) -> Iterator[None]:
    """Evaluate everything inside at `when` (None: the real clock)."""
    global _fixed
    before, _fixed = _fixed, when
    try:
        yield
    finally:
        _fixed = before


def parse_when(value: object) -> datetime:
    """A date (`2027-01-31`: 00:00 UTC that day) or an RFC 3339 timestamp with a zone.

    YAML may hand over a `date` or `datetime` already; a timestamp without a zone is
    refused, since its meaning would depend on the machine running the pipeline.
    Raises ValueError with a readable reason.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a timestamp needs a zone (Z or +hh:mm)")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"{value.isoformat()!r} is out of the calendar's range") from None
    if isinstance(value, date):
        return datetime.combine(value, time(0), UTC)
    if not isinstance(value, str):
        raise ValueError("expected a date (YYYY-MM-DD) or an RFC 3339 timestamp")
    text = value.strip()
    try:
        if _DATE.match(text):
            return datetime.combine(date.fromisoformat(text), time(0), UTC)
        if _STAMP.match(text):
            return datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00")).astimezone(
                UTC
            )
    except OverflowError:
        raise ValueError(f"{value!r} is out of the calendar's range") from None
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date: {exc}") from None
    if re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", text):
        raise ValueError(f"{value!r} needs a zone (Z or +hh:mm)")
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or an RFC 3339 timestamp")


def parse_span(value: str) -> timedelta:
    """`30d`, `12h`, `2w`: a window for `--within`."""
    match = _SPAN.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a duration such as 30d, 12h or 2w")
    n, unit = int(match.group(1)), match.group(2)
    hours = n * {"h": 1, "d": 24, "w": 24 * 7}[unit]
    if hours > MAX_SPAN.days * 24:
        raise ValueError(f"{value.strip()!r} is longer than {MAX_SPAN.days} days")
    return timedelta(hours=hours)


def parse_at(value: object) -> datetime:
    """`--at`: a `parse_when` value in the years AT_YEARS."""
    when = parse_when(value)
    low, high = AT_YEARS
    if not low <= when.year <= high:
        raise ValueError(f"{value!r} is not between the years {low} and {high}")
    return when


def show(when: datetime) -> str:
    """A date at midnight UTC as `2027-01-31`, any other time as RFC 3339 in UTC."""
    when = when.astimezone(UTC)
    if when.time() == time(0):
        return when.date().isoformat()
    return when.isoformat().replace("+00:00", "Z")
