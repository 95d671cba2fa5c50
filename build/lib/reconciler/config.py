"""The config file: provider aliases and their settings, run settings, endpoint safety."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.errors import ManifestError, Problem
from reconciler.schemas import validate_against
from reconciler.yamlload import Located, load_file

CONFIG_NAMES = ("reconciler.yaml", "reconciler.yml")
CREDENTIAL_KEYS = frozenset({"api_key_env", "token_env"})
DEFAULT_SOURCE = "<defaults>"


@dataclass(frozen=True)
class VendorDefaults:
    """A vendor's defaults; the provider registry holds one per type."""

    base_url: str
    credential_env: str
    credential_key: str  # the config key naming the env var
    rate_limit_per_second: float = 0
    max_concurrency: int = 0
    vendor_hosts: tuple[str, ...] = ()
    """Exact host names, or `*.domain` for any subdomain."""
    required_base_url_env: str | None = None


@dataclass
class ProviderConfig:
    alias: str
    type: str
    base_url: str
    credential_env: str
    prune: tuple[str, ...] = ()
    protected_roles: tuple[str, ...] = ("Admin",)
    api_version: str = "v60.0"
    rate_limit_per_second: float = 0
    max_concurrency: int = 0
    source: tuple[str, int, int] = (DEFAULT_SOURCE, 1, 1)


@dataclass
class Safety:
    max_delete_percent: float = 30
    max_update_percent: float = 30
    min_existing: int = 10


@dataclass
class Config:
    providers: dict[str, ProviderConfig]
    parallelism: int = 10
    safety: Safety = field(default_factory=Safety)
    file: str | None = None
    raw: bytes = b""


def find_config(explicit: str | None, paths: list[str]) -> Path | None:
    if explicit:
        return Path(explicit)
    if paths:
        first = Path(paths[0])
        base = first if first.is_dir() else first.parent
        for name in CONFIG_NAMES:
            if (base / name).is_file():
                return base / name
    for name in CONFIG_NAMES:
        if Path(name).is_file():
            return Path(name)
    return None


def load_config(path: Path | None, defaults: dict[str, VendorDefaults]) -> Config:
    """Read and check the config; without one, one provider per type named after it."""
    if path is None:
        providers = {}
        for vtype, d in defaults.items():
            base = d.base_url
            if d.required_base_url_env:
                base = os.environ.get(d.required_base_url_env, "")
            providers[vtype] = _provider(vtype, {"type": vtype}, d, base)
        return Config(providers)
    if not path.is_file():
        raise ManifestError([Problem(str(path), 1, 1, "config file not found", "config")])
    docs, problems = load_file(path)
    if problems:
        raise ManifestError(problems)
    if len(docs) != 1:
        line, col = docs[1].where(()) if docs else (1, 1)
        what = f"holds {len(docs)} documents" if docs else "is empty"
        message = f"config file {what}; it must hold exactly one (kind: Config)"
        raise ManifestError([Problem(str(path), line, col, message, "config")])
    doc = docs[0]
    problems = validate_against("config", doc)
    if problems:
        raise ManifestError(problems)
    value: dict[str, Any] = doc.value
    providers = {}
    for alias, raw in (value.get("providers") or {}).items():
        vtype = raw.get("type", alias)
        if vtype not in defaults:
            problems.append(
                doc.problem(
                    ("providers", alias),
                    f"provider {alias!r} needs a `type` (one of {', '.join(sorted(defaults))})",
                    "config",
                )
            )
            continue
        d = defaults[vtype]
        for key in sorted(CREDENTIAL_KEYS - {d.credential_key}):
            if key in raw:
                problems.append(
                    doc.problem(
                        ("providers", alias, key),
                        f"{key} does not apply to a {vtype} provider: its credential's "
                        f"env var is set with {d.credential_key}",
                        "config",
                        at_key=True,
                    )
                )
        base = raw.get("base_url") or d.base_url
        if not base and d.required_base_url_env:
            base = os.environ.get(d.required_base_url_env, "")
        if not base:
            problems.append(
                doc.problem(
                    ("providers", alias),
                    f"provider {alias!r} needs base_url: a {vtype} provider has no default",
                    "config",
                )
            )
            continue
        providers[alias] = _provider(alias, raw, d, base)
        line, col = doc.where(("providers", alias))
        providers[alias].source = (str(path), line, col)
        problems.extend(_check_host(providers[alias], doc, ("providers", alias, "base_url"), d))
    settings = value.get("settings") or {}
    safety = Safety(**(settings.get("safety") or {}))
    if problems:
        raise ManifestError(problems)
    return Config(
        providers,
        parallelism=int(settings.get("parallelism", 10)),
        safety=safety,
        file=str(path),
        raw=path.read_bytes(),
    )


def _provider(alias: str, raw: dict[str, Any], d: VendorDefaults, base: str) -> ProviderConfig:
    return ProviderConfig(
        alias=alias,
        type=raw.get("type", alias),
        base_url=base.rstrip("/"),
        credential_env=raw.get(d.credential_key) or d.credential_env,
        prune=tuple(raw.get("prune") or ()),
        protected_roles=tuple(raw.get("protected_roles", ["Admin"])),
        api_version=raw.get("api_version", "v60.0"),
        rate_limit_per_second=float(raw.get("rate_limit_per_second", d.rate_limit_per_second)),
        max_concurrency=int(raw.get("max_concurrency", d.max_concurrency)),
    )


def host_allowed(url: str, vendor_hosts: tuple[str, ...]) -> str | None:
    """None when a credential may be sent to `url`; otherwise why not (SPEC §1.1)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        return f"base_url {url!r} is not an http(s) URL"
    if _is_loopback(host):
        return None
    extra = {h.strip().lower() for h in os.environ.get("RECONCILER_ALLOW_HOSTS", "").split(",")}
    if host in extra - {""}:
        return None
    for pattern in vendor_hosts:
        ok = host.endswith(pattern[1:]) if pattern.startswith("*.") else host == pattern
        if ok:
            if parts.scheme != "https":
                return f"host {host!r} must be reached over https"
            return None
    return (
        f"host {host!r} is not allowed: a provider may only reach its vendor's own domain "
        f"({', '.join(vendor_hosts)}), a loopback address, or a host listed in "
        "RECONCILER_ALLOW_HOSTS"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_host(
    p: ProviderConfig, doc: Located, path: tuple[str, ...], d: VendorDefaults
) -> list[Problem]:
    why = host_allowed(p.base_url, d.vendor_hosts)
    return [doc.problem(path, why, "endpoint-safety")] if why else []
