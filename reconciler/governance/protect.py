"""Protection from prune (docs/governance.md): `settings.protect` address globs prune never deletes.

Protection wins over an expiry too (docs/governance.md): a protected object whose `expires:` has
passed is listed as protected, never planned for delete, so `apply` with paths and
`apply PLAN.json` (which refuses any delete a glob covers) agree."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from reconciler.core.model import (
    Action,
    Change,
    Plan,
    Refusals,
    Resource,
    Unmanaged,
    address_glob,
)
from reconciler.governance.expiry import EXPIRED
from reconciler.governance.phase import Context, Phase


def matches(address: str, patterns: Iterable[str]) -> str | None:
    """The first glob (`*`, `?`; case-sensitive) that `address` matches, or None."""
    return next((p for p in patterns if address_glob(p).fullmatch(address)), None)


def keep(plan: Plan, resources: Sequence[Resource], patterns: tuple[str, ...]) -> Plan:
    """`plan` without every prune delete of an undeclared object a glob protects, listed in
    `Plan.protected` (and, being live and undeclared, as a protected unmanaged object for
    drift), and without every delete of a protected object that its expiry causes, listed
    as protected with the expiry. A new plan; `plan` is left as it is."""
    if not patterns:
        return dataclasses.replace(plan)
    declared = {r.address for r in resources}
    kept: list[Change] = []
    protected = list(plan.protected)
    expired = dict(plan.protected_expired)
    unmanaged: list[Unmanaged] = []
    for change in plan.changes:
        if _pruned(change, declared) and matches(change.address, patterns):
            assert change.live is not None
            protected.append(change.address)
            unmanaged.append(Unmanaged(change.provider, change.kind, change.live, True))
        elif _expired(change) and matches(change.address, patterns):
            protected.append(change.address)
            expired[change.address] = change.expires or ""
        else:
            kept.append(change)
    # Drift (prune off) lists undeclared objects as unmanaged: a protected one is marked so,
    # as a vendor's own protection (`protected_roles`) is.
    for u in plan.unmanaged:
        if not u.protected and matches(u.address, patterns):
            u = dataclasses.replace(u, protected=True)
        unmanaged.append(u)
    return dataclasses.replace(
        plan,
        changes=kept,
        protected=sorted(protected),
        protected_expired=expired,
        unmanaged=unmanaged,
    )


class ProtectPhase(Phase):
    """`settings.protect`: planning leaves protected deletes out; a saved plan carrying
    one is refused, `--force` or not."""

    name = "protect"

    def plan(self, plan: Plan, ctx: Context) -> Plan:
        return keep(plan, ctx.resources, ctx.config.protect)

    def refuse(self, plan: Plan, ctx: Context, so_far: Refusals) -> Refusals:
        found = dict(so_far.protected)
        for change in plan.changes:
            why = refusal(change, ctx.config.protect)
            if why:
                found[change.address] = why
        return dataclasses.replace(so_far, protected=found)


PHASE = ProtectPhase()


def _expired(change: Change) -> bool:
    return change.action is Action.DELETE and change.reason == EXPIRED


def _pruned(change: Change, declared: set[str]) -> bool:
    return (
        change.action is Action.DELETE
        and change.live is not None
        and change.address not in declared
    )


def refusal(change: Change, patterns: tuple[str, ...]) -> str | None:
    """Why a saved plan may not carry `change`: a delete of a protected address. A plan
    file cannot prove the object is declared (its source is its own word), so every delete
    a glob matches is refused."""
    if change.action is not Action.DELETE:
        return None
    glob = matches(change.address, patterns)
    if glob is None:
        return None
    return f"is protected from prune (settings.protect {glob!r}): a saved plan may not delete it"
