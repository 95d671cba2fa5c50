"""One vendor answer as providers see it, and the bounded inflater that reads its body."""

from __future__ import annotations

import json as jsonlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.core.errors import ProviderError
from reconciler.plugin.transport import DecodingError

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy


@dataclass(frozen=True, slots=True, eq=False)
class Response:
    """One complete answer, body read and decompressed. Immutable."""

    status_code: int
    headers: CIMultiDictProxy[str]
    """Case-insensitive; a repeated header keeps every value (`getall`)."""
    content: bytes
    method: str = ""
    url: str = ""

    @property
    def text(self) -> str:
        """The body decoded by the Content-Type's charset (UTF-8 when none is given or it
        is unknown); undecodable bytes are replaced, never raised."""
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip().strip('"'):
                charset = value.strip().strip('"')
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; ValueError when it is not JSON."""
        return jsonlib.loads(self.content)


ErrorParser = Callable[[Response], tuple[str | None, str]]
"""Vendor error body -> (error code, human message)."""

Fatal = Callable[[Response], ProviderError | None]
"""A vendor's verdict on an answer before the generic rules: an error to raise, or None."""


def json_or_none(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class Inflate:
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
                raise DecodingError(f"bad compressed answer: {exc}") from None
            # Some servers send deflate without the zlib wrapper.
            self.may_be_raw = False
            self.z = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self.feed(data)
