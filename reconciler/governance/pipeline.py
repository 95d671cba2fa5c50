"""The governance pipeline: its phases in order, run over a plan value.

Every command that plans or writes goes through this one list: `plan`, `drift` and
`access` (governance.plan while planning), and both forms of `apply` (`refusals`, before
any write). A new rule is one phase module (phase.py's shape) and one entry here.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.core.model import Plan, Refusals
from reconciler.governance import expiry, guards, ignores, protect, safety
from reconciler.governance.phase import Context, Phase, no_refusals

PHASES: tuple[Phase, ...] = (
    expiry.PHASE,
    ignores.PHASE,
    protect.PHASE,
    guards.PHASE,
    safety.PHASE,
)
"""Expiry first (what has lapsed is revoked), then what ignores hide, then protection (a
protected delete leaves the plan), then the guards over what is left, then the safety
thresholds over the whole plan."""


def govern(plan: Plan, ctx: Context, phases: Sequence[Phase] | None = None) -> Plan:
    """`plan` after every phase's `plan` hook, in order (`PHASES` unless `phases` is
    given): a new plan each time."""
    for phase in PHASES if phases is None else phases:
        plan = phase.plan(plan, ctx)
    return plan


def refusals(plan: Plan, ctx: Context, phases: Sequence[Phase] | None = None) -> Refusals:
    """What apply would refuse of `plan`, `--force` aside: every phase's `refuse` hook, in
    order (a change protection refuses is not looked at by the guards)."""
    found = no_refusals(plan)
    for phase in PHASES if phases is None else phases:
        found = phase.refuse(plan, ctx, found)
    return found
