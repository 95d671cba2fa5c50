"""What can go wrong below HTTP: no complete answer, and whether the request was sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiohttp


class TransportError(Exception):
    """No complete answer. Its class name is what error messages quote."""

    sent = True
    """False only when the request surely never reached the server."""


class ConnectError(TransportError):
    """The connection could not be made (refused, DNS, TLS handshake): nothing was sent."""

    sent = False


class ConnectTimeout(ConnectError):
    """No connection within the timeout: nothing was sent."""


class ReadTimeout(TransportError):
    """Sent, but no (complete) answer within the timeout or the deadline."""


class ReadError(TransportError):
    """Sent, but the connection broke or the answer was not valid HTTP."""


class DecodingError(TransportError):
    """The answer's compressed body could not be decompressed."""


def transport_error(exc: aiohttp.ClientError) -> TransportError:
    """aiohttp's exception as one of ours (the most specific first)."""
    import aiohttp

    kind: type[TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = ConnectTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = ConnectError
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        kind = ReadTimeout
    else:  # disconnected, payload error, malformed answer
        kind = ReadError
    return kind(str(exc))


def not_sent(exc: BaseException | None) -> bool:
    """True only when the request surely never reached the server (the connection failed)."""
    return isinstance(exc, TransportError) and not exc.sent
