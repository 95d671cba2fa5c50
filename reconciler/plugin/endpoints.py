"""Endpoint safety: which base URL a credential may be sent to, which variable
may become a credential, which base URLs are one account, and whether a request's URL stays
on its provider's API. URLs are read as aiohttp's parser (yarl) reads them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Collection, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from reconciler.core.settings import VendorDefaults


_TRUSTED: ContextVar[frozenset[str]] = ContextVar("reconciler_trusted_hosts", default=frozenset())


@contextlib.contextmanager
def trusting(hosts: Iterable[str]) -> Iterator[None]:
    """While in force, `hosts` are trusted as if listed in RECONCILER_ALLOW_HOSTS: the
    hosts of the operator's policy providers (reconciler/input/policy/)."""
    token = _TRUSTED.set(frozenset(h.lower() for h in hosts))
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def _unplain(url: str) -> bool:
    """A space, a control character or a backslash: parsers disagree on such URLs."""
    return any(ord(c) <= 0x20 or ord(c) == 0x7F or c == "\\" for c in url)


ALLOW_HOSTS = "RECONCILER_ALLOW_HOSTS"
ALLOW_LOOPBACK = "RECONCILER_ALLOW_LOOPBACK"
ALLOW_CREDENTIAL_ENV = "RECONCILER_ALLOW_CREDENTIAL_ENV"


def operator_hosts(d: VendorDefaults) -> frozenset[str]:
    """The hosts the operator's environment trusts for a provider type: those listed in
    RECONCILER_ALLOW_HOSTS, and the host of the vendor's base URL variable, if any."""
    trusted = set(_env_list(ALLOW_HOSTS)) | _TRUSTED.get()
    if d.required_base_url_env:
        _, env_host = _split(os.environ.get(d.required_base_url_env, ""))
        if env_host:
            trusted.add(env_host)
    return frozenset(trusted)


def operator_allows_loopback() -> bool:
    """RECONCILER_ALLOW_LOOPBACK=1 in the operator's environment (exactly "1")."""
    return os.environ.get(ALLOW_LOOPBACK, "").strip() == "1"


def base_url_allowed(url: str, d: VendorDefaults) -> str | None:
    """`host_allowed` with what the operator's environment trusts (outside `--sandbox`)."""
    return host_allowed(url, d, operator_hosts(d), operator_allows_loopback())


def host_allowed(
    url: str, d: VendorDefaults, trusted: Collection[str], allow_loopback: bool
) -> str | None:
    """None when a credential may be sent to `url`; otherwise why not.

    `d` is the provider type's defaults, `trusted` the exact hosts the operator allows
    besides the vendor's own (lower-case), `allow_loopback` whether a loopback address may
    be used (`--sandbox` never gets here: it sends no credential to the config's hosts).
    Allowed: https to the vendor's exact API host or a trusted host; a loopback address
    (http too, any path) when `allow_loopback`. Never user info, a query or a fragment, and
    off loopback no path beyond the vendor's fixed API prefix.
    """
    parts, host = _split(url)
    if parts is None or not host or parts.scheme not in ("http", "https"):
        return f"base_url {url!r} is not an http(s) URL"
    if "@" in parts.netloc:
        return f"base_url for host {host!r} must not hold user info (credentials come from env)"
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        return f"base_url for host {host!r} must not hold a query or a fragment"
    if is_loopback(host):
        if allow_loopback:
            return None
        if host not in trusted:
            return (
                f"host {host!r} is a loopback address: loopback base URLs are for the "
                f"sandbox and tests, accepted only with --sandbox or when the operator sets "
                f"{ALLOW_LOOPBACK}=1"
            )
    if host not in d.vendor_hosts and host not in trusted:
        if d.required_base_url_env:
            return (
                f"host {host!r} is not allowed: no wildcard vendor domain is trusted, so an "
                f"org host must be listed in {ALLOW_HOSTS} or be the host of "
                f"{d.required_base_url_env} (or be a loopback address)"
            )
        return (
            f"host {host!r} is not allowed: a provider may only reach its vendor's API host "
            f"({', '.join(d.vendor_hosts)}), a loopback address, or a host listed in "
            f"{ALLOW_HOSTS}"
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


def credential_env_allowed(name: str, vtype: str, d: VendorDefaults) -> str | None:
    """None when a `*_env` setting may name `name`; otherwise why not. The variable is the
    operator's choice, not the workspace's: its name carries the vendor's prefix, or the
    operator lists it in RECONCILER_ALLOW_CREDENTIAL_ENV (exact names, comma-separated)."""
    if name == d.credential_env or name.startswith(d.credential_prefixes):
        return None
    if name in {n.strip() for n in os.environ.get(ALLOW_CREDENTIAL_ENV, "").split(",")}:
        return None
    if d.credential_prefixes:
        prefixes = " or ".join(d.credential_prefixes)
        rule = f"a {vtype} credential variable's name starts with {prefixes}"
    else:
        rule = f"a {vtype} provider takes its credential from {d.credential_env}"
    return (
        f"credential variable {name!r} is not allowed: {rule}, unless the operator lists "
        f"it in {ALLOW_CREDENTIAL_ENV} (comma-separated exact names)"
    )


def account(url: str, d: VendorDefaults) -> tuple[str, int | None, str] | None:
    """What identifies one vendor account behind a base URL, for "one account, one alias":
    the host (lower-case, without a final dot; every loopback address is one machine), the
    port (the scheme's default filled in), and the path without a trailing slash or the
    vendor's API prefix it ends with (`/api/1` and `/api/1.0` are one API). None when
    `url` is not a URL (the host check reports it)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return None
    if is_loopback(host):
        host = "loopback"
    path = parts.path.rstrip("/")
    for prefix in sorted((p for p in d.api_paths if p), key=len, reverse=True):
        if path.endswith(prefix):
            path = path[: -len(prefix)]
            break
    return host, port, path


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


def _env_list(var: str) -> list[str]:
    return [h.strip().lower() for h in os.environ.get(var, "").split(",") if h.strip()]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_DEFAULT_PORTS = {"http": 80, "https": 443}


def outside(url: str, base_url: str) -> str | None:
    """Why `url` is not on the API at `base_url`, or None when it is. Hosts and
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
