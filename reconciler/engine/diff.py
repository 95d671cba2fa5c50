"""Diff: read live state turned into a plan, in three plain steps (changes, prune, target).

`changes` diffs what read.py returned, `plan_of` adds prune's deletes and applies
`--target`; the governance pipeline (governance/pipeline.py) runs over the plan made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.core.errors import ReconcilerError
from reconciler.core.model import (
    Action,
    Change,
    FieldChange,
    KindSpec,
    LiveObject,
    MemberChange,
    Plan,
    ProviderInfo,
    Resource,
    Unmanaged,
)
from reconciler.engine.read import Key, Progress, Reads, prunes, read
from reconciler.plugin.provider import Provider


@dataclass(frozen=True)
class Diffed:
    """The declared objects' changes, and what the safety thresholds and the summary count."""

    changes: list[Change]
    existing: dict[Key, int]
    """Live items read per (provider, kind): the base of the safety thresholds."""
    in_sync: int
    diffs: dict[str, Change | None]
    """Each declared object's change by address (None: in sync), before `--target`: what
    the expiry phase revises."""


def changes(reads: Reads, providers: dict[str, Provider]) -> Diffed:
    """The change of every declared object read, against its live object."""
    found: list[Change] = []
    existing: dict[Key, int] = {}
    in_sync = 0
    diffs: dict[str, Change | None] = {}
    for key, declared in reads.declared.items():
        spec = providers[key[0]].KINDS[key[1]]
        live_objs = reads.live[key]
        live_by_id = {o.identity: o for o in live_objs}
        existing[key] = _count_existing(spec, live_objs)
        for r in declared:
            change = diffs[r.address] = diff(spec, r, live_by_id.get(r.identity))
            if change is None:
                in_sync += 1
            else:
                found.append(change)
    return Diffed(found, existing, in_sync, diffs)


def prune(reads: Reads, providers: dict[str, Provider]) -> tuple[list[Change], list[Unmanaged]]:
    """The deletes prune makes of undeclared live objects (never of one the vendor
    protects), and, for drift, the undeclared live objects left: `Plan.unmanaged`."""
    deletes: list[Change] = []
    extra: list[Unmanaged] = []
    for key, declared_rs in reads.declared.items():
        alias, kind = key
        provider = providers[alias]
        spec = provider.KINDS[kind]
        declared = {r.identity for r in declared_rs}
        pruned = prunes(provider, kind)
        if reads.drift and spec.prune_key is not None:
            for obj in reads.live[key]:
                if obj.identity in declared:
                    continue
                protected = not provider.may_prune(kind, obj)
                if protected or not pruned:
                    extra.append(Unmanaged(alias, kind, obj, protected))
        if pruned:
            for obj in reads.live[key]:
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
                deletes.append(change)
    return deletes, extra


def target(planned: list[Change], reads: Reads, resources: list[Resource]) -> list[Change]:
    """`--target`: the changes it names; a target that names no declared object and
    nothing to prune is an error."""
    if not reads.targets:
        return planned
    kept = [c for c in planned if c.address in reads.targets]
    known = {r.address for r in resources} | {c.address for c in kept}
    unknown = sorted(set(reads.targets) - known)
    if unknown:
        # The value is the user's: one line, whatever it holds.
        shown = reads.targets[unknown[0]].encode("unicode_escape").decode("ascii")
        raise ReconcilerError(f"--target {shown} matches no declared object and nothing to prune")
    return kept


def plan_of(
    reads: Reads,
    diffed: Diffed,
    resources: list[Resource],
    providers: dict[str, Provider],
    digest: str,
) -> Plan:
    """The plan before governance: the declared objects' changes, prune's, `--target`."""
    deletes, extra = prune(reads, providers)
    kept = target(diffed.changes + deletes, reads, resources)
    infos = [
        ProviderInfo(
            a, p.config.type, p.config.base_url, p.config.credential_env, dict(p.config.options)
        )
        for a, p in sorted(providers.items())
    ]
    targeted = None
    if reads.targets:
        targeted = (len(reads.targets), len({r.address for r in resources} | set(reads.targets)))
    return Plan(
        kept, infos, digest, diffed.existing, diffed.in_sync, unmanaged=extra, targeted=targeted
    )


async def make_plan(
    resources: list[Resource],
    providers: dict[str, Provider],
    digest: str,
    targets: list[str] | None = None,
    progress: Progress | None = None,
    drift: bool = False,
) -> Plan:
    """`read`, then `plan_of`: the plan before governance (benchmarks and tools use it)."""
    reads = await read(resources, providers, targets, progress, drift)
    return plan_of(reads, changes(reads, providers), resources, providers, digest)


def _count_existing(spec: KindSpec, live: list[LiveObject]) -> int:
    if spec.members_field:
        return sum(len(o.state.get(spec.members_field) or {}) for o in live)
    return len(live)


def diff(
    spec: KindSpec,
    resource: Resource,
    live: LiveObject | None,
) -> Change | None:
    """The change that makes `live` match `resource`, or None when they already match.

    Plain values in, a change out: what an expiry makes of it is the pipeline's
    (governance/expiry.py)."""
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
                if resource.members_mode == "authoritative":
                    members.append(MemberChange("remove", key, have[key], None))
            elif have[key] != want[key]:
                members.append(MemberChange("change", key, have[key], want[key]))
        merged = want if resource.members_mode == "authoritative" else {**have, **want}
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
