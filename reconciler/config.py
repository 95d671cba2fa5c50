"""The config file: provider aliases and their settings, run settings, endpoint safety."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.endpoints import account, base_url_allowed, credential_env_allowed
from reconciler.errors import ManifestError, Problem
from reconciler.ignores import Ignore
from reconciler.ignores import load as load_ignores
from reconciler.schemas import core_provider_settings, provider_settings, validate_against
from reconciler.yamlload import Located, load_file

_SANDBOXED: ContextVar[bool] = ContextVar("reconciler_sandboxed", default=False)

CONFIG_NAMES = ("reconciler.yaml", "reconciler.yml")
DEFAULT_SOURCE = "<defaults>"


@dataclass(frozen=True)
class VendorDefaults:
    """A vendor's defaults; the provider registry holds one per type."""

    base_url: str
    credential_env: str
    credential_key: str
    """The config key naming the env var (`api_key_env`, `token_env`): a property of the
    vendor's config fragment (`schemas/config.schema.json` in its folder)."""
    credential_prefixes: tuple[str, ...] = ()
    """The prefixes a credential variable's name must start with (`KLIPFOLIO_`), unless the
    operator lists it in RECONCILER_ALLOW_CREDENTIAL_ENV; none: only `credential_env`."""
    rate_limit_per_second: float = 0
    max_concurrency: int = 0
    rate_limit_wait: float = 0
    """Seconds to wait after a 429 that carries no `Retry-After`, when the vendor documents
    a wait of its own (BitSight: a minute); 0: the usual backoff."""
    vendor_hosts: tuple[str, ...] = ()
    """The vendor's API hosts, exact names (no wildcard: anyone can own a subdomain)."""
    required_base_url_env: str | None = None
    """Env var giving the base URL when the vendor has no default; its host is trusted."""
    api_paths: tuple[str, ...] = ("",)
    """The paths a base_url may have off loopback: the vendor's fixed API prefix, if any."""
    options: dict[str, Any] = field(default_factory=dict)
    """Defaults of the vendor's own settings (its config fragment): `protected_roles`..."""


@dataclass
class ProviderConfig:
    alias: str
    type: str
    base_url: str
    credential_env: str
    prune: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    """The vendor's own settings (its config fragment), its defaults filled in."""
    rate_limit_per_second: float = 0
    max_concurrency: int = 0
    source: tuple[str, int, int] = (DEFAULT_SOURCE, 1, 1)


@dataclass
class Safety:
    max_delete_percent: float = 30
    max_update_percent: float = 30
    min_existing: int = 10


@dataclass(frozen=True)
class GuardSettings:
    """`settings.guards` (SPEC §5.1); the rules themselves are in guards.py."""

    disabled: tuple[str, ...] = ()
    admin_permissions: frozenset[str] | None = None
    """Replaces each vendor's default admin list; None keeps the defaults."""
    max_new_members: int = 25


@dataclass
class Config:
    providers: dict[str, ProviderConfig]
    parallelism: int = 10
    safety: Safety = field(default_factory=Safety)
    file: str | None = None
    raw: bytes = b""
    max_grant_days: int | None = None
    """`settings.max_grant_days`: no `expires:` may lie further ahead (None: no limit)."""
    guards: GuardSettings = field(default_factory=GuardSettings)
    protect: tuple[str, ...] = ()
    """`settings.protect`: address globs of undeclared live objects prune never deletes."""
    ignores: list[Ignore] = field(default_factory=list)
    """`settings.ignore`: drift ignores that expire (reconciler/ignores.py)."""


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
        credential_keys = {other.credential_key for other in defaults.values()}
        # The schema allows every vendor's settings; a key of another vendor's is refused here.
        for key in sorted(set(raw) - core_provider_settings() - provider_settings(vtype)):
            if key in credential_keys:
                why = f"its credential's env var is set with {d.credential_key}"
            else:
                owners = sorted(t for t in defaults if key in provider_settings(t))
                why = f"it is a setting of {' and '.join(owners) or 'no provider type'}"
            problems.append(
                doc.problem(
                    ("providers", alias, key),
                    f"{key} does not apply to a {vtype} provider: {why}",
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
        if d.credential_key in raw:
            refused = credential_env_allowed(str(raw[d.credential_key]), vtype, d)
            if refused:
                where = ("providers", alias, d.credential_key)
                problems.append(doc.problem(where, refused, "credentials", at_key=True))
    problems.extend(_one_alias_per_account(providers, doc, defaults))
    settings = value.get("settings") or {}
    safety = Safety(**(settings.get("safety") or {}))
    ignores, ignore_problems = load_ignores(doc, settings)
    problems.extend(ignore_problems)
    if problems:
        raise ManifestError(problems)
    return Config(
        providers,
        parallelism=int(settings.get("parallelism", 10)),
        safety=safety,
        file=str(path),
        raw=path.read_bytes(),
        max_grant_days=settings.get("max_grant_days"),
        guards=_guards(settings.get("guards") or {}),
        protect=tuple(settings.get("protect") or ()),
        ignores=ignores,
    )


def _guards(raw: dict[str, Any]) -> GuardSettings:
    """`settings.guards`, already checked by the config schema (rule and permission names)."""
    admin = raw.get("admin_permissions")
    return GuardSettings(
        disabled=tuple(raw.get("disabled") or ()),
        admin_permissions=None if admin is None else frozenset(admin),
        max_new_members=int(raw.get("max_new_members", 25)),
    )


def _provider(alias: str, raw: dict[str, Any], d: VendorDefaults, base: str) -> ProviderConfig:
    vtype = raw.get("type", alias)
    own = provider_settings(vtype) - {d.credential_key}
    return ProviderConfig(
        alias=alias,
        type=vtype,
        base_url=base.rstrip("/"),
        credential_env=raw.get(d.credential_key) or d.credential_env,
        prune=tuple(raw.get("prune") or ()),
        options={**d.options, **{k: v for k, v in raw.items() if k in own}},
        rate_limit_per_second=float(raw.get("rate_limit_per_second", d.rate_limit_per_second)),
        max_concurrency=int(raw.get("max_concurrency", d.max_concurrency)),
    )


@contextlib.contextmanager
def sandboxed() -> Iterator[None]:
    """While the built-in sandbox stands in for every vendor (each provider is pointed at it,
    with its dummy credential), the config's hosts are never contacted: their endpoint rule
    is not applied, so the examples' real-looking org URL still runs there."""
    token = _SANDBOXED.set(True)
    try:
        yield
    finally:
        _SANDBOXED.reset(token)


def _check_host(
    p: ProviderConfig, doc: Located, path: tuple[str, ...], d: VendorDefaults
) -> list[Problem]:
    if _SANDBOXED.get():
        return []
    why = base_url_allowed(p.base_url, d)
    return [doc.problem(path, why, "endpoint-safety")] if why else []


def _one_alias_per_account(
    providers: dict[str, ProviderConfig], doc: Located, defaults: dict[str, VendorDefaults]
) -> list[Problem]:
    """Two aliases of one type on one base URL are one vendor account: protection, prune
    scopes and guards are per alias, so a second alias would sidestep them. Checked on the
    configured URLs, `--sandbox` or not (each alias is pointed at the sandbox only later)."""
    problems = []
    first: dict[tuple[str, Any], str] = {}
    for alias, p in providers.items():
        key = account(p.base_url, defaults[p.type])
        if key is None:
            continue
        other = first.setdefault((p.type, key), alias)
        if other != alias:
            at = ("providers", alias)
            message = (
                f"providers {other!r} and {alias!r} are one {p.type} account "
                f"({p.base_url}): one vendor account has one alias, so that protection, "
                "prune scopes and guards apply to all of its objects"
            )
            problems.append(doc.problem(at, message, "one-alias-per-account", at_key=True))
    return problems
