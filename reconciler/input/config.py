"""The config file: provider aliases and their settings, run settings, endpoint safety."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.core import notices
from reconciler.core.errors import ManifestError, Problem
from reconciler.core.settings import (
    Config,
    GuardSettings,
    ProviderConfig,
    Safety,
    VendorDefaults,
)
from reconciler.core.yamlload import Located, load_one, outside, roots
from reconciler.governance.ignores import load as load_ignores
from reconciler.input.schemas import core_provider_settings, provider_settings, validate_against
from reconciler.plugin.endpoints import (
    account,
    base_url_allowed,
    credential_env_allowed,
    host_allowed,
)

_SANDBOXED: ContextVar[bool] = ContextVar("reconciler_sandboxed", default=False)
_OFFLINE: ContextVar[bool] = ContextVar("reconciler_offline", default=False)

SANDBOX_BASE_URL = "https://{alias}.sandbox.invalid"
"""A provider's base URL under `--sandbox` when neither the config nor the environment
gives one (a Salesforce org's): never contacted, as the sandbox stands in for it."""

REFUSED_LATER = "plan and apply will refuse it"

CONFIG_NAMES = ("reconciler.yaml", "reconciler.yml")


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
            if not base and _SANDBOXED.get():
                base = SANDBOX_BASE_URL.format(alias=vtype)
            providers[vtype] = _provider(vtype, {"type": vtype}, d, base)
        return Config(providers)
    if not path.is_file():
        raise ManifestError([Problem(str(path), 1, 1, "config file not found", "config")])
    if linked := outside(path, roots([str(path)])):  # a link out of its directory: unread
        raise ManifestError([linked])
    doc = load_one(path, "config", "Config", "config")
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
        if not base and _SANDBOXED.get():
            base = SANDBOX_BASE_URL.format(alias=alias.lower())
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
                # Only the operator's environment decides (its allow-list): offline, a warning.
                problems.extend(_refusal(doc.problem(where, refused, "credentials", at_key=True)))
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
def offline() -> Iterator[None]:
    """While an offline command (validate, expiring, access --desired) loads the config:
    what only the pipeline's environment decides (the allowed hosts, the credential
    variables' allow-list, loopback) is a warning that plan and apply will refuse it, not an
    error; what no environment can allow (a URL with user info, plain http off loopback)
    stays an error."""
    token = _OFFLINE.set(True)
    try:
        yield
    finally:
        _OFFLINE.reset(token)


def _refusal(problem: Problem) -> list[Problem]:
    """`problem`, an error unless offline; offline, a warning (notices) and no error."""
    if not _OFFLINE.get():
        return [problem]
    notices.add(dataclasses.replace(problem, message=f"{problem.message} ({REFUSED_LATER})"))
    return []


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
    if not why:
        return []
    problem = doc.problem(path, why, "endpoint-safety")
    try:
        host = urlsplit(p.base_url).hostname or ""
    except ValueError:
        return [problem]
    if host_allowed(p.base_url, d, {host.lower()}, allow_loopback=True) is None:
        return _refusal(problem)  # an environment could allow it: the operator's call
    return [problem]


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
