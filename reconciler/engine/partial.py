"""A partial plan (`--base REF`): which objects it reads, the removed documents' objects it
reads to prune, the unread ones it keeps out of prune and drift, and each change's cause:
the pull request (base and head documents differ) or drift (live left them)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.model import (
    Action,
    Change,
    FieldChange,
    Governance,
    MemberChange,
    Partial,
    Plan,
    Resource,
)
from reconciler.core.settings import Config
from reconciler.engine.read import Reads, prunes
from reconciler.input.manifest import Workspace
from reconciler.input.policy.loosened import loosened
from reconciler.plugin.provider import Provider
from reconciler.plugin.registry import KIND_TYPES, PROVIDERS


@dataclass
class Selection:
    """What a `--base` run reads: the head resources whose documents changed, the base
    resources whose documents were removed (read only to prune them), and the rest."""

    ref: str
    commit: str
    base: Workspace
    changed: list[Resource]
    """Head resources added or changed since the base."""
    removed: list[Resource]
    """Base resources no head document declares any more."""
    unchanged: set[str] = field(default_factory=set)
    """Addresses declared the same on both sides: not read."""
    base_by_address: dict[str, Resource] = field(default_factory=dict)


def _key(r: Resource) -> Any:
    """What makes two documents of one object the same: everything but where they are."""
    return (
        r.desired,
        r.members_mode,
        r.scope,
        r.expires.when if r.expires else None,
        {k: e.when for k, e in sorted(r.member_expires.items())},
        dict(sorted(r.allows.items())),
    )


def _provider_key(config: Config, alias: str) -> Any:
    p = config.providers.get(alias)
    if p is None:
        return None
    return (p.type, p.base_url.rstrip("/"), p.credential_env, sorted(p.prune), p.options)


def select(
    ref: str, commit: str, base: Workspace, head: Workspace, resources: list[Resource]
) -> Selection:
    """What changed between the base workspace and `resources` (the head's, `--provider`
    applied): added or changed documents, removed ones, and the unchanged rest. Every
    object of a provider whose account or prune setting changed counts as changed."""
    by_base = {r.address: r for r in base.resources}
    repointed = {
        alias
        for alias in head.config.providers
        if _provider_key(head.config, alias) != _provider_key(base.config, alias)
    }
    changed, unchanged = [], set()
    for r in resources:
        old = by_base.get(r.address)
        if old is None or r.provider in repointed or _key(old) != _key(r):
            changed.append(r)
        else:
            unchanged.add(r.address)
    head_addresses = {r.address for r in head.resources}
    aliases = {r.provider for r in resources} | set(head.config.providers)
    removed = [
        r for r in base.resources if r.address not in head_addresses and r.provider in aliases
    ]
    return Selection(ref, commit, base, changed, removed, unchanged, by_base)


def _cause(pr: bool) -> str:
    return "pr" if pr else "drift"


def attribute(change: Change, sel: Selection, head: dict[str, Resource], config: Config) -> Change:
    """A copy of `change` with each field and member marked `pr` (the base and head documents differ
    there) or `drift` (they agree: live left them), and the change `pr` when any part is.
    A create, replace or delete is the PR's when the PR added, edited or removed the
    document; else it reverts drift (an object the base declares that live lacks)."""
    old = sel.base_by_address.get(change.address)
    new = head.get(change.address)
    doc_changed = old is None or new is None or _key(old) != _key(new)
    vtype = KIND_TYPES.get(change.kind)
    kinds = PROVIDERS[vtype].KINDS if vtype is not None and vtype in PROVIDERS else {}
    mf = kinds[change.kind].members_field if change.kind in kinds else None
    if change.action is Action.DELETE:
        whole = old is not None and new is None
    elif change.action is Action.UPDATE:
        whole = old is None or new is None
    else:
        whole = doc_changed
    fields = [
        FieldChange(f.field, f.before, f.after, _cause(whole or _differs(old, new, f.field)))
        for f in change.fields
    ]
    members = [
        MemberChange(
            m.action,
            m.key,
            m.before,
            m.after,
            m.expires,
            m.reason,
            _cause(whole or _member_differs(old, new, mf, m.key)),
        )
        for m in change.members
    ]
    parts = [f.cause for f in fields] + [m.cause for m in members]
    if change.action is Action.UPDATE and parts:
        cause = _cause("pr" in parts)
    else:
        cause = _cause(whole or "pr" in parts)
    return dataclasses.replace(change, fields=fields, members=members, cause=cause)


def _differs(old: Resource | None, new: Resource | None, name: str) -> bool:
    if old is None or new is None:
        return True
    return old.desired.get(name) != new.desired.get(name)


def _member_differs(old: Resource | None, new: Resource | None, mf: str | None, key: str) -> bool:
    if old is None or new is None or mf is None or old.members_mode != new.members_mode:
        return True
    was = (old.desired.get(mf) or {}).get(key)
    now = (new.desired.get(mf) or {}).get(key)
    was_exp, now_exp = old.member_expires.get(key), new.member_expires.get(key)
    return was != now or (was_exp and was_exp.when) != (now_exp and now_exp.when)


def removed_to_read(
    sel: Selection, aliases: frozenset[str], providers: Mapping[str, Provider], drift: bool
) -> list[Resource]:
    """The removed documents' objects to read: only where prune (or `drift`) covers their
    scope, so that a delete, or their being unmanaged, is planned."""
    return [
        r
        for r in sel.removed
        if r.provider in aliases
        and r.provider in providers
        and r.kind in providers[r.provider].KINDS
        and (
            prunes(providers[r.provider], r.kind)
            or (drift and providers[r.provider].KINDS[r.kind].prune_key is not None)
        )
    ]


def without_removed(reads: Reads, removed: list[Resource]) -> Reads:
    """`reads` with the removed documents' objects read as live only, never as declared."""
    if not removed:
        return reads
    gone = {id(r) for r in removed}
    declared = {k: [r for r in rs if id(r) not in gone] for k, rs in reads.declared.items()}
    return dataclasses.replace(reads, declared=declared)


def without_unread(plan: Plan, sel: Selection) -> Plan:
    """Declared objects left unread are not undeclared: neither pruned nor drift."""
    return dataclasses.replace(
        plan,
        changes=[
            c
            for c in plan.changes
            if not (c.action is Action.DELETE and c.address in sel.unchanged)
        ],
        unmanaged=[u for u in plan.unmanaged if u.address not in sel.unchanged],
    )


def with_causes(
    plan: Plan, governance: Governance, sel: Selection, resources: list[Resource], config: Config
) -> tuple[Plan, Governance]:
    """The plan with each change's cause (`attribute`), marked partial, and the
    governance block with each risk's cause and what the head config loosens."""
    head = {r.address: r for r in resources}
    changes = [attribute(c, sel, head, config) for c in plan.changes]
    cause = {c.address: c.cause for c in changes}
    risks = [
        {**r, "cause": cause[r["address"]]} if r.get("address") in cause else r
        for r in governance.risks
    ]
    governance = dataclasses.replace(
        governance, risks=risks, loosened=loosened(sel.base.config, config)
    )
    partial = Partial(
        sel.ref, sel.commit, len(sel.unchanged), tuple(sorted(r.address for r in sel.removed))
    )
    return dataclasses.replace(plan, changes=changes, partial=partial), governance
