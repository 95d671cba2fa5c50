"""Vendor answers are input too: valid JSON with a field of the wrong type is the vendor's
error, reported as one readable line naming the provider and the call (exit 1), not a bug."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reconciler.core.errors import ProviderError

MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)
"""What parsing raises on an answer of the wrong shape."""


def malformed(alias: str, call: str, exc: BaseException | str) -> ProviderError:
    return ProviderError(alias, f"malformed answer from {call}: {_what(exc)}")


@contextmanager
def reading(alias: str, call: str) -> Iterator[None]:
    """Parse the answer to `call` ("GET /roles") inside this block: a missing or wrong-typed
    field ends as the vendor's malformed answer."""
    try:
        yield
    except MALFORMED as exc:
        raise malformed(alias, call, exc) from None


def records(alias: str, call: str, value: Any, where: str, **fields: type) -> list[dict[str, Any]]:
    """`value` (found at `where` in the answer) as a list of objects, each holding `fields`
    with those types."""
    if not isinstance(value, list):
        raise malformed(alias, call, f"{where} is {kind_of(value)}, expected a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise malformed(alias, call, f"{where}[{i}] is {kind_of(item)}, expected an object")
        for name, kind in fields.items():
            if not isinstance(item.get(name), kind):
                raise malformed(
                    alias,
                    call,
                    f"{where}[{i}].{name} is {kind_of(item.get(name))}, "
                    f"expected {_KINDS.get(kind, kind.__name__)}",
                )
    return value


_KINDS: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


def kind_of(value: Any) -> str:
    """What a JSON value is, in words: "a string", "missing or null"."""
    return "missing or null" if value is None else _KINDS.get(type(value), type(value).__name__)


def _what(exc: BaseException | str) -> str:
    if isinstance(exc, str):
        return exc
    if isinstance(exc, KeyError):
        return f"no field {exc.args[0]!r}" if exc.args else "a field is missing"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or f"unexpected shape ({type(exc).__name__})"
