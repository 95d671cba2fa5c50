"""Endpoint safety (SPEC §1.1): which base URL a credential may be sent to, and whether a
request's URL stays on its provider's API. Both read a URL as aiohttp's parser (yarl) does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from reconciler.config import VendorDefaults


_TRUSTED: ContextVar[frozenset[str]] = ContextVar("reconciler_trusted_hosts", default=frozenset())


@contextlib.contextmanager
def trusting(hosts: Iterable[str]) -> Iterator[None]:
    """While in force, `hosts` are trusted as if listed in RECONCILER_ALLOW_HOSTS: the
    hosts of the operator's policy providers (reconciler/policy.py)."""
    token = _TRUSTED.set(frozenset(h.lower() for h in hosts))
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def _unplain(url: str) -> bool:
    """A space, a control character or a backslash: parsers disagree on such URLs."""
    return any(ord(c) <= 0x20 or ord(c) == 0x7F or c == "\\" for c in url)


def host_allowed(url: str, d: VendorDefaults) -> str | None:
    """None when a credential may be sent to `url`; otherwise why not (SPEC §1.1).

    `d` is the provider type's defaults. Allowed: https to the vendor's exact API host; a
    loopback address (http too, any path); a host listed in RECONCILER_ALLOW_HOSTS; the
    host of the vendor's base URL variable (`required_base_url_env`). Never user info, a
    query or a fragment, and off loopback no path beyond the vendor's fixed API prefix.
    """
    parts, host = _split(url)
    if parts is None or not host or parts.scheme not in ("http", "https"):
        return f"base_url {url!r} is not an http(s) URL"
    if "@" in parts.netloc:
        return f"base_url for host {host!r} must not hold user info (credentials come from env)"
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        return f"base_url for host {host!r} must not hold a query or a fragment"
    if _is_loopback(host):
        return None
    trusted = set(_env_hosts("RECONCILER_ALLOW_HOSTS")) | _TRUSTED.get()
    if d.required_base_url_env:
        _, env_host = _split(os.environ.get(d.required_base_url_env, ""))
        if env_host:
            trusted.add(env_host)
    if host not in d.vendor_hosts and host not in trusted:
        if d.required_base_url_env:
            return (
                f"host {host!r} is not allowed: no wildcard vendor domain is trusted, so an "
                f"org host must be listed in RECONCILER_ALLOW_HOSTS or be the host of "
                f"{d.required_base_url_env} (or be a loopback address)"
            )
        return (
            f"host {host!r} is not allowed: a provider may only reach its vendor's API host "
            f"({', '.join(d.vendor_hosts)}), a loopback address, or a host listed in "
            "RECONCILER_ALLOW_HOSTS"
        )
    if parts.scheme != "https":
        # Off loopback a credential never travels in clear text, allow-listed or not.
        return f"host {host!r} must be reached over https"
    if parts.path.rstrip("/") not in d.api_paths:
        prefixes = " or ".join(p for p in d.api_paths if p)
        rule = f"only the vendor's API prefix {prefixes}" if prefixes else "no path"
        return (
            f"base_url for host {host!r} has the path {parts.path or '/'!r}: {rule} may "
            "follow the host"
        )
    return None


def _split(url: str) -> tuple[Any, str]:
    """urlsplit and the lower-cased host; (None, "") for what is not a plain URL (spaces,
    control characters, backslashes, a bad port, or a host other parsers read otherwise)."""
    if not url or _unplain(url):
        return None, ""
    from yarl import URL  # here, not at the top: start-up time

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
        host = (parts.hostname or "").lower()
        if host and (URL(url).host or "").lower() != host.strip("[]"):
            return None, ""
    except (ValueError, TypeError):
        return None, ""
    return parts, host


def _env_hosts(var: str) -> list[str]:
    return [h.strip().lower() for h in os.environ.get(var, "").split(",") if h.strip()]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_DEFAULT_PORTS = {"http": 80, "https": 443}


def outside(url: str, base_url: str) -> str | None:
    """Why `url` is not on the API at `base_url` (SPEC §1.1), or None when it is. Hosts and
    ports as aiohttp's own URL parser (yarl) reads them, so the check is on what is sent."""
    if _unplain(url):
        return "refused: the URL holds a space, a control character or a backslash"
    from yarl import URL  # start-up time

    try:
        target, base = URL(url), URL(base_url)
        raw = urlsplit(url)
    except (ValueError, TypeError):
        return "refused: not a valid URL"
    where = f"{target.host}:{target.port or _DEFAULT_PORTS.get(target.scheme, '?')}"
    own = f"{base.host}:{base.port or _DEFAULT_PORTS.get(base.scheme, '?')}"
    if not target.host or (target.scheme, where) != (base.scheme, own):
        return (
            f"to host {target.scheme}://{where} refused: this provider only talks to "
            f"{base.scheme}://{own}"
        )
    if target.user is not None or target.password is not None or "@" in raw.netloc:
        return "refused: the URL holds user info or a fragment"
    if raw.fragment or "#" in url:
        return "refused: the URL holds user info or a fragment"
    # Dot segments, plain or percent-encoded, could climb out of the API's path.
    if any(unquote(s) in (".", "..") for s in raw.path.split("/")):
        return f"to {where} refused: the path climbs out of {base.path or '/'}"
    prefix = urlsplit(base_url).path.rstrip("/")
    path = raw.path
    if prefix and not (path == prefix or path.startswith(prefix + "/")):
        return f"to {where}{path} refused: outside this provider's API path {prefix}"
    return None
