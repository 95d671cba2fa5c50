"""Safety thresholds: a plan that deletes or updates too much of what exists is refused."""

from __future__ import annotations

import dataclasses

from reconciler.core.errors import UnsafePlanError
from reconciler.core.model import Action, Plan, Refusals
from reconciler.core.settings import Safety
from reconciler.governance.phase import Context, Phase
from reconciler.plugin.registry import kind_spec


class SafetyPhase(Phase):
    """Refuses the whole plan over a threshold (`--force` overrides it)."""

    name = "safety"

    def refuse(self, plan: Plan, ctx: Context, so_far: Refusals) -> Refusals:
        found = safety_refusals(plan, ctx.config.safety)
        return dataclasses.replace(so_far, safety=(*so_far.safety, *found))


PHASE = SafetyPhase()


def check_safety(plan: Plan, safety: Safety) -> None:
    """Refuse a plan that deletes or updates too much of what exists (docs/governance.md)."""
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
