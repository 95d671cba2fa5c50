"""`apply PLAN.json`: a saved plan is checked against the current config, never trusted.

A plan file's checksum only catches accidents: anyone can edit the file and recompute
it. So hosts, credential variables, rate limits, prune and protection come
from the config in force at apply time, and every change is checked again against it.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from reconciler.core.errors import ManifestError, Problem, ReconcilerError
from reconciler.core.model import Action, Change, LiveObject, Plan
from reconciler.core.settings import Config
from reconciler.governance import expiry
from reconciler.input.config import find_config, load_config
from reconciler.plugin.endpoints import base_url_allowed
from reconciler.plugin.provider import Provider
from reconciler.plugin.registry import KIND_TYPES, PROVIDERS, defaults


def current_config(explicit: str | None) -> Config:
    """`--config`, else reconciler.yaml in the current directory, else the defaults:
    never a config beside the plan file, which came with the plan."""
    path = find_config(explicit, [])
    return load_config(path, defaults())


def check_endpoints(plan: Plan, path: str, sandboxed: bool = False) -> None:
    """Refuse, before the config is read, a plan whose base URLs no credential may go to
    (docs/security.md): a loopback URL too, unless the operator sets RECONCILER_ALLOW_LOOPBACK=1;
    `sandboxed` (every provider pointed at the sandbox) checks only the types."""
    problems = []
    for info in plan.providers:
        cls = PROVIDERS.get(info.type)
        if cls is None:
            raise ReconcilerError(f"{path}: unknown provider type {info.type!r}")
        why = None if sandboxed else base_url_allowed(info.base_url, cls.DEFAULTS)
        if why:
            problems.append(
                Problem(path, 1, 1, f"provider {info.alias!r}: {why}", "endpoint-safety")
            )
    if problems:
        raise ManifestError(problems)


def _where(url: str) -> tuple[str, str, int | None, str] | None:
    """Scheme, host, port and path of a base URL, normalised for comparison."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    return parts.scheme.lower(), host, port, parts.path.rstrip("/")


def config_for(plan: Plan, current: Config, path: str, sandboxed: bool = False) -> Config:
    """The config to apply `plan` with: the current config's providers, for exactly the
    plan's aliases; refused when an alias is missing or its type, host or credential
    variable differs from the plan's. `sandboxed` (`apply PLAN.json --sandbox`, where
    every provider is pointed at the sandbox) leaves the hosts out of the comparison."""
    where = current.file or "the built-in defaults, as there is no reconciler.yaml"
    problems = []
    providers = {}
    for info in plan.providers:
        own = current.providers.get(info.alias)
        differs = []
        if own is None:
            differs.append("no provider of that alias")
        else:
            if info.type != own.type:
                differs.append(f"type {own.type!r}, not {info.type!r}")
            planned = _where(info.base_url)
            moved = planned is None or planned != _where(own.base_url)
            if moved and not sandboxed:
                differs.append(f"base_url {own.base_url!r}, not {info.base_url!r}")
            if info.credential_env != own.credential_env:
                differs.append(
                    f"credential env var {own.credential_env!r}, not {info.credential_env!r}"
                )
        if differs:
            message = (
                f"provider {info.alias!r} does not match the current config ({where}): it has "
                + "; ".join(differs)
                + "; nothing was read or written"
            )
            problems.append(Problem(path, 1, 1, message, "saved-plan"))
        elif own is not None:
            providers[info.alias] = dataclasses.replace(own, source=(path, 1, 1))
    if problems:
        raise ManifestError(problems)
    return dataclasses.replace(current, providers=providers)


def refusals(plan: Plan, providers: dict[str, Provider], path: str) -> list[Problem]:
    """One problem per change the current config does not allow by its shape (kind,
    identity, scope, prune, the vendor's own protection), whatever `--force` says.
    Protection globs, guards and safety are the governance pipeline's `refuse` hooks
    (`workflow.would_refuse`), as for a plan just made: a guard refuses only its own
    change."""
    problems = []
    for change in plan.changes:
        provider = providers.get(change.provider)
        why = (
            _refusal(change, provider)
            if provider is not None
            else "its provider is not among the plan's providers"
        )
        if why:
            message = f"{change.address}: {why}; refused, nothing was written"
            problems.append(Problem(path, 1, 1, message, "saved-plan"))
    return problems


def _refusal(change: Change, provider: Provider) -> str | None:
    ptype = provider.config.type
    spec = provider.KINDS.get(change.kind)
    if spec is None:
        return f"{change.kind} is not a kind of a {ptype} provider"
    shape = isinstance(change.identity, tuple) and all(isinstance(p, str) for p in change.identity)
    if not shape or len(change.identity) != len(spec.identity) or not change.identity[-1]:
        return (
            f"its identity does not have the shape of a {change.kind} ({', '.join(spec.identity)})"
        )
    try:
        scope = provider.scope(change.kind, dict(zip(spec.identity, change.identity, strict=True)))
    except (KeyError, TypeError, ValueError):
        scope = None
    if scope != change.scope:
        return f"its scope {change.scope!r} is not the one its identity names"
    if change.action is Action.CREATE and change.live is not None:
        return "a create must not carry a live object"
    if change.action is not Action.CREATE and change.live is None:
        return f"a {change.action.value} must carry the live object it changes"
    if change.action is Action.DELETE:
        pruned = spec.prune_key is not None and spec.prune_key in provider.config.prune
        # An expiry deletes whatever prune says (docs/governance.md): only once it has passed, by
        # the clock now, not by the plan's word.
        if not pruned and spec.prune_key is not None and change.reason == expiry.EXPIRED:
            if not expiry.verified(change):
                return (
                    f"deletes a {change.kind} as expired on {change.expires}, which has "
                    "not passed yet"
                )
        elif not pruned:
            if spec.prune_key is None:
                return f"a {change.kind} is never deleted as an object"
            return (
                f"deletes a {change.kind}, but the current config does not list "
                f"{spec.prune_key!r} under prune for provider {change.provider!r}"
            )
    if change.action is Action.REPLACE and not spec.replace_fields:
        return f"a {change.kind} is never replaced"
    if change.action is not Action.CREATE and spec.prune_key is not None:
        state = change.live.state if change.live else {}
        obj = LiveObject(change.identity, state, scope=change.scope)
        if not provider.may_prune(change.kind, obj):
            return (
                f"is protected (protected_roles of provider {change.provider!r}): a saved "
                f"plan may not {change.action.value} it"
            )
    return None


def existing_at_least(plan: Plan) -> dict[tuple[str, str], int]:
    """The plan's live counts for the safety thresholds, never fewer than the live
    objects (members, for share lists) its own changes name: a count missing from the
    plan or lowered by hand cannot turn the thresholds off."""
    floor: dict[tuple[str, str], int] = {}
    for c in plan.changes:
        key = (c.provider, c.kind)
        vtype = KIND_TYPES.get(c.kind)
        spec = PROVIDERS[vtype].KINDS[c.kind] if vtype else None
        if spec is not None and spec.members_field and c.live is not None:
            members = c.live.state.get(spec.members_field)
            n = len(members) if isinstance(members, dict) else 0
        else:
            n = 1 if c.live is not None else 0
        floor[key] = floor.get(key, 0) + n
    existing = dict(plan.existing)
    for key, n in floor.items():
        existing[key] = max(existing.get(key, 0), n)
    return existing
