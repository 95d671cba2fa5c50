"""Ids that go into a vendor URL path (docs/configuration.md): each vendor declares its `IdFormat`.

Manifests are checked against these formats at validate time (the vendor's JSON Schemas
carry the same patterns; a test keeps them equal), and every id, whether a manifest or an
API answer gave it, is checked again and percent-encoded by `path_id` when a provider
builds a URL with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class IdFormat:
    pattern: str
    """The JSON Schema pattern (anchored), as the schemas spell it."""
    label: str
    """What the id is, for messages: "a UUID (8-4-4-4-12 hex digits)"."""

    def matches(self, value: object) -> bool:
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None


UUID = IdFormat(
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "a UUID (8-4-4-4-12 hex digits)",
)


class BadId(ValueError):
    """An id that must not go into a URL path."""


def path_id(fmt: IdFormat, value: object, what: str = "id") -> str:
    """`value` checked against the id format `fmt` and percent-encoded for a URL path.

    Raises BadId, naming `what` (the field or object the id belongs to), for anything else.
    """
    if not fmt.matches(value):
        shown = value[:80] if isinstance(value, str) else type(value).__name__
        raise BadId(f"{what} {shown!r} is not {fmt.label}")
    return quote(str(value), safe="")


def path_text(value: str) -> str:
    """Free text (a name, not an id) as one percent-encoded URL path segment; `.` and `..`
    are encoded too, so that no name can climb out of its place in the path."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded
