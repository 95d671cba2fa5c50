"""What can go wrong below HTTP: no complete answer, whether the request was sent, and
every send seen as one try."""

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


async def counted_sends(
    request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """The session's one middleware: every send is a counted try.

    aiohttp sends a GET, PUT or DELETE again, at once and outside our tries, when the server
    drops the connection before answering (its reading of RFC 9112's retry of a reused
    connection), and has no public switch for it. It resends only on its own disconnect
    errors, so one of ours, raised here around each send, reaches `Http.request` instead:
    counted, backed off, and bounded by MAX_TRIES."""
    import aiohttp

    try:
        return await send(request)
    except aiohttp.ClientConnectorError:
        raise  # no connection: nothing was sent, and aiohttp does not resend it
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        raise ReadError(str(exc) or type(exc).__name__) from exc
