"""Plan and apply: reads, diffs, ordering, concurrency, pre-write checks and safety."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from reconciler.core.errors import (
    ConflictError,
    ManifestError,
    Problem,
    ProviderError,
    ReconcilerError,
    UnsafePlanError,
)
from reconciler.core.model import (
    Action,
    Change,
    FieldChange,
    KindSpec,
    LiveObject,
    MemberChange,
    Outcome,
    Plan,
    ProviderInfo,
    Resource,
    Result,
    Unmanaged,
    address_of,
    fingerprint,
)
from reconciler.core.settings import Config, ProviderConfig, Safety, VendorDefaults
from reconciler.governance import expiry, protect
from reconciler.plugin.endpoints import base_url_allowed
from reconciler.plugin.http import Limits
from reconciler.plugin.provider import Provider
from reconciler.plugin.registry import PROVIDERS, kind_spec

if TYPE_CHECKING:
    from reconciler.core.model import Finding

Progress = Callable[[str, int], None]
"""Called with ("read" | "write", n) as work completes; the CLI may draw it."""


@dataclass
class SandboxTarget:
    """Where --sandbox points every provider: a base URL and a dummy credential per type."""

    urls: dict[str, str]
    credentials: dict[str, str]


def connect(
    config: Config, aliases: set[str], sandbox: SandboxTarget | None = None
) -> dict[str, Provider]:
    """Build the providers the run needs; a missing credential is reported before any call."""
    limits = Limits(config.parallelism)
    providers: dict[str, Provider] = {}
    problems = []
    for alias in sorted(aliases):
        pconf = config.providers[alias]
        cls = PROVIDERS[pconf.type]
        if sandbox is not None:
            pconf.base_url = sandbox.urls[pconf.type]
            credential = sandbox.credentials[pconf.type]
        else:
            credential = os.environ.get(pconf.credential_env, "")
            problem = _unusable(alias, pconf, cls.DEFAULTS, credential)
            if problem is not None:
                problems.append(problem)
                continue
        providers[alias] = cls(pconf, credential, limits)
    if problems:
        raise ManifestError(problems)
    return providers


def _unusable(
    alias: str, pconf: ProviderConfig, defaults: VendorDefaults, credential: str
) -> Problem | None:
    """Why provider `alias` must not be built (its host, its credential), at its config entry."""
    why = base_url_allowed(pconf.base_url, defaults)
    if why:
        return Problem(*pconf.source, why, "endpoint-safety")
    env = pconf.credential_env
    if not credential:
        why = f"provider {alias!r} needs its credential in the environment variable {env}, "
        why += "which is not set"
    elif flaw := credential_flaw(credential):
        # Named, never shown: the value is a secret even when it is wrong.
        why = f"provider {alias!r}: the credential in the environment variable {env} {flaw}"
        why += "; nothing was sent"
    return Problem(*pconf.source, why, "credential") if why else None


def credential_flaw(value: str) -> str | None:
    """Why `value` cannot be a credential in an HTTP header, or None. Never quotes it."""
    if value != value.strip():
        return "starts or ends with whitespace or a newline"
    if not value.isascii():
        return "holds a non-ASCII character"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "holds a control character"
    return None


async def close(providers: dict[str, Provider]) -> None:
    await asyncio.gather(*(p.close() for p in providers.values()))


def select(resources: list[Resource], targets: list[str]) -> list[Resource]:
    """The resources a `--target` run must read: just the targeted ones when all are
    declared; everything when one may be an undeclared object that pruning deletes."""
    if not targets:
        return resources
    declared = {r.address for r in resources}
    if set(targets) <= declared:
        return [r for r in resources if r.address in targets]
    return resources


def canonical_address(address: str, providers: dict[str, Provider]) -> str:
    """`address` with its identity parts spelled as validation spells them (the vendor's
    `canonical_identity`); unchanged when it names no provider or kind of the run."""
    alias, _, rest = address.partition("/")
    kind, _, ident = rest.partition("/")
    provider = providers.get(alias)
    if provider is None or kind not in provider.KINDS:
        return address
    parts = tuple(unquote(p) for p in ident.split("/")) if ident else ()
    return address_of(alias, kind, provider.canonical_identity(kind, parts))


async def make_plan(
    resources: list[Resource],
    providers: dict[str, Provider],
    digest: str,
    targets: list[str] | None = None,
    progress: Progress | None = None,
    unmanaged: bool = False,
    live: dict[tuple[str, str], list[LiveObject]] | None = None,
) -> Plan:
    """Read live state for every declared object (and pruned scopes) and diff it.

    With `unmanaged` (drift), whole declared scopes are read for every kind that can be
    pruned, prune or not, and the undeclared live objects the plan does not delete are
    returned as `Plan.unmanaged`. `live`, when given, receives every object read, by
    (provider alias, kind): the access report's live side, from exactly the plan's reads."""
    spelled = {canonical_address(t, providers): t for t in reversed(targets or [])}
    targets = list(spelled)
    chosen = select(resources, targets)
    groups: dict[tuple[str, str], list[Resource]] = {}
    for r in chosen:
        groups.setdefault((r.provider, r.kind), []).append(r)
    problems: list[Problem] = []
    for found in await asyncio.gather(
        *(providers[p].resolve(k, rs) for (p, k), rs in groups.items())
    ):
        problems.extend(found)
    if problems:
        raise ManifestError(problems)

    async def read(key: tuple[str, str]) -> list[LiveObject]:
        alias, kind = key
        provider = providers[alias]
        prune = _prunes(provider, kind) or (
            unmanaged and provider.KINDS[kind].prune_key is not None
        )
        objs = await provider.read(kind, groups[key], prune)
        if progress:
            progress("read", len(objs))
        return objs

    keys = list(groups)
    reads = await asyncio.gather(*(read(k) for k in keys))
    if live is not None:
        live.update(zip(keys, reads, strict=True))
    changes: list[Change] = []
    held: list[Change] = []
    """Expired deletes of objects the vendor protects (`protected_roles`): never planned."""
    extra: list[Unmanaged] = []
    existing: dict[tuple[str, str], int] = {}
    in_sync = 0
    for key, live_objs in zip(keys, reads, strict=True):
        alias, kind = key
        provider = providers[alias]
        spec = provider.KINDS[kind]
        live_by_id = {o.identity: o for o in live_objs}
        existing[key] = _count_existing(spec, live_objs)
        declared = set()
        for r in groups[key]:
            declared.add(r.identity)
            change = expiry.plan_one(spec, r, live_by_id.get(r.identity), diff)
            if change is None:
                in_sync += 1
            elif _protected_expiry(provider, change):
                held.append(change)
            else:
                changes.append(change)
        if unmanaged and spec.prune_key is not None:
            for obj in live_objs:
                if obj.identity in declared:
                    continue
                protected = not provider.may_prune(kind, obj)
                if protected or not _prunes(provider, kind):
                    extra.append(Unmanaged(alias, kind, obj, protected))
        if _prunes(provider, kind):
            for obj in live_objs:
                if obj.identity in declared or not provider.may_prune(kind, obj):
                    continue
                change = Change(
                    Action.DELETE,
                    kind,
                    alias,
                    obj.identity,
                    None,
                    obj,
                    managed=sorted(obj.state),
                    scope=obj.scope,
                    labels=obj.labels,
                )
                changes.append(change)
    if targets:
        changes = [c for c in changes if c.address in targets]
        held = [c for c in held if c.address in targets]
        known = {r.address for r in resources} | {c.address for c in changes}
        unknown = sorted(set(targets) - known)
        if unknown:
            # The value is the user's: one line, whatever it holds.
            shown = spelled[unknown[0]].encode("unicode_escape").decode("ascii")
            raise ReconcilerError(
                f"--target {shown} matches no declared object and nothing to prune"
            )
    infos = [
        ProviderInfo(
            a, p.config.type, p.config.base_url, p.config.credential_env, dict(p.config.options)
        )
        for a, p in sorted(providers.items())
    ]
    targeted = None
    if targets:
        targeted = (len(targets), len({r.address for r in resources} | set(targets)))
    plan = Plan(changes, infos, digest, existing, in_sync, unmanaged=extra, targeted=targeted)
    for change in held:
        protect.hold(plan, change)
    return plan


def _protected_expiry(provider: Provider, change: Change) -> bool:
    """An expiry never deletes what the vendor protects (docs/governance.md: protection wins)."""
    return (
        change.reason == expiry.EXPIRED
        and change.action is Action.DELETE
        and change.live is not None
        and not provider.may_prune(change.kind, change.live)
    )


def _prunes(provider: Provider, kind: str) -> bool:
    key = provider.KINDS[kind].prune_key
    return key is not None and key in provider.config.prune


def _count_existing(spec: KindSpec, live: list[LiveObject]) -> int:
    if spec.members_field:
        return sum(len(o.state.get(spec.members_field) or {}) for o in live)
    return len(live)


def diff(
    spec: KindSpec,
    resource: Resource,
    live: LiveObject | None,
    revoke: frozenset[str] = frozenset(),
) -> Change | None:
    """The change that makes `live` match `resource`, or None when they already match.

    Members in `revoke` (lapsed: expiry.py) are removed even under `members: additive`."""
    desired = resource.desired
    labels = {**resource.labels, **(live.labels if live else {})}
    common = dict(
        kind=resource.kind, provider=resource.provider, identity=resource.identity, labels=labels
    )
    if live is None:
        return Change(
            Action.CREATE,
            desired=desired,
            live=None,
            managed=sorted(desired),
            scope=resource.scope,
            source=resource.source,
            **common,  # type: ignore[arg-type]
        )
    managed = sorted(desired)
    before = {k: live.state.get(k) for k in managed}
    if before == desired:
        return None
    mf = spec.members_field
    # Normalised values compare with plain equality; render/text.py explains what differs.
    fields = [
        FieldChange(f, before[f], desired[f])
        for f in managed
        if f != mf and before[f] != desired[f]
    ]
    after: dict[str, Any] = {**live.state, **desired}
    members: list[MemberChange] = []
    if mf is not None and mf in desired:
        have, want = live.state.get(mf) or {}, desired[mf]
        for key in sorted(set(have) | set(want)):
            if key not in have:
                members.append(MemberChange("add", key, None, want[key]))
            elif key not in want:
                if resource.members_mode == "authoritative" or key in revoke:
                    members.append(MemberChange("remove", key, have[key], None))
            elif have[key] != want[key]:
                members.append(MemberChange("change", key, have[key], want[key]))
        kept = {k: v for k, v in have.items() if k not in revoke}
        merged = want if resource.members_mode == "authoritative" else {**kept, **want}
        after[mf] = merged
    if not fields and not members:
        return None
    replace = any(f.field in spec.replace_fields for f in fields)
    return Change(
        Action.REPLACE if replace else Action.UPDATE,
        desired=after,
        live=live,
        managed=managed,
        fields=fields,
        members=members,
        scope=resource.scope,
        source=resource.source,
        **common,  # type: ignore[arg-type]
    )


def check_safety(plan: Plan, safety: Safety) -> None:
    """Refuse a plan that deletes or updates too much of what exists (SPEC §1.1)."""
    refusals = safety_refusals(plan, safety)
    if refusals:
        raise UnsafePlanError("; ".join(refusals) + "; use --force to apply anyway")


def safety_refusals(plan: Plan, safety: Safety) -> list[str]:
    """Each safety threshold `plan` exceeds, with the figures; empty when none is."""
    refusals = []
    for key, existing in sorted(plan.existing.items()):
        if existing < max(safety.min_existing, 1):
            continue
        spec = kind_spec(key[1])
        deletes = updates = 0
        for c in plan.changes:
            if (c.provider, c.kind) != key:
                continue
            if spec.members_field:
                deletes += sum(1 for m in c.members if m.action == "remove")
                updates += sum(1 for m in c.members if m.action == "change")
            elif c.action in (Action.DELETE, Action.REPLACE):
                deletes += 1
            elif c.action is Action.UPDATE:
                updates += 1
        for count, limit, word, name in (
            (deletes, safety.max_delete_percent, "deletes", "max_delete_percent"),
            (updates, safety.max_update_percent, "updates", "max_update_percent"),
        ):
            share = 100.0 * count / existing
            if share > limit:
                refusals.append(
                    f"{count} of {existing} ({share:.0f}%) {key[1]} {word} exceed {name} "
                    f"{limit:g} (provider {key[0]})"
                )
    return refusals


async def apply(
    plan: Plan,
    providers: dict[str, Provider],
    parallelism: int,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
    refused: Mapping[str, Sequence[Finding]] | None = None,
) -> list[Result]:
    """Write every change, `parallelism` objects at a time; each ends applied, conflict, failed.

    A change whose address `refused` names (the guards it trips that no document allows:
    `workflow.would_refuse`) is not written and ends refused; the others are written all
    the same (docs/governance.md: the refusal is per object).

    When `stop` is set (SIGINT, SIGTERM), objects already being written finish; the rest
    are not started and end as skipped, so no object is left half-written by us.
    """
    sem = asyncio.Semaphore(max(1, parallelism))
    held = refused or {}

    async def one(change: Change) -> Result:
        found = held.get(change.address)
        if found:
            return _refused(change, found)
        async with sem:
            result = await _apply_one(change, providers[change.provider], stop)
        if progress and result.outcome is not Outcome.SKIPPED:
            progress("write", 1)
        return result

    return list(await asyncio.gather(*(one(c) for c in plan.changes)))


NOT_STARTED = "not started: interrupted"


def _refused(change: Change, found: Sequence[Finding]) -> Result:
    rules = tuple(f.rule for f in found)
    detail = "; ".join(f"{f.rule}: {f.message}" for f in found)
    return Result(
        change,
        Outcome.REFUSED,
        f"{detail}; not written (--force applies it, or allow the rule in the document's "
        "metadata.allow with a reason)",
        rules=rules,
    )


async def _apply_one(
    change: Change, provider: Provider, stop: asyncio.Event | None = None
) -> Result:
    spec = provider.KINDS[change.kind]
    try:
        current = None
        if stop is not None and stop.is_set():
            return Result(change, Outcome.SKIPPED, NOT_STARTED)
        if not spec.revisioned:
            current = await provider.read_one(change)
            now = fingerprint(current.state if current else None, change.managed)
            if now != change.fingerprint:
                return Result(change, Outcome.CONFLICT, _moved(change, current))
        # The last moment to stop: a signal during the pre-write read means no write.
        if stop is not None and stop.is_set():
            return Result(change, Outcome.SKIPPED, NOT_STARTED)
        await provider.write(change, current)
        return Result(change, Outcome.APPLIED)
    except ConflictError as exc:
        return Result(change, Outcome.CONFLICT, exc.detail)
    except ProviderError as exc:
        return Result(change, Outcome.FAILED, str(exc))


def _moved(change: Change, current: LiveObject | None) -> str:
    if change.live is None:
        return "changed since the plan: it now exists; not written"
    if current is None:
        return "changed since the plan: it no longer exists; not written"
    return "changed since the plan; not written (run plan again)"


async def stale_objects(plan: Plan, providers: dict[str, Provider]) -> list[tuple[Change, str]]:
    """Objects whose live revision or fingerprint differs from the plan's."""

    async def check(change: Change) -> tuple[Change, str] | None:
        provider = providers[change.provider]
        current = await provider.read_one(change)
        named = provider.KINDS[change.kind].prune_key is not None
        if named and current is not None and current.identity != change.identity:
            # Read by the plan's vendor id: that id must still be the object the plan names.
            found = address_of(change.provider, change.kind, current.identity)
            return change, f"its vendor id now names {found}"
        if provider.KINDS[change.kind].revisioned and change.live and current:
            if current.revision != change.revision:
                return change, f"revision {change.revision} -> {current.revision}"
            return None
        now = fingerprint(current.state if current else None, change.managed)
        if now != change.fingerprint:
            return change, _moved(change, current).split(";")[0]
        return None

    found = await asyncio.gather(*(check(c) for c in plan.changes))
    return [f for f in found if f is not None]
