"""The shape every governance phase has: two hooks over plain values, each returning anew."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from reconciler.core.model import Change, LiveObject, Plan, Refusals, Resource
from reconciler.core.settings import Config
from reconciler.plugin.provider import Provider

Key = tuple[str, str]
"""(provider alias, kind)."""


@dataclass(frozen=True)
class Context:
    """What the phases may read besides the plan: the settings in force and, for a plan
    just made, what the run declared and read. A saved plan has only the settings."""

    config: Config
    resources: Sequence[Resource] = ()
    """The run's declared resources (of the `--provider` aliases)."""
    aliases: frozenset[str] = frozenset()
    """The run's provider aliases."""
    declared: Mapping[Key, Sequence[Resource]] = field(default_factory=dict)
    """The resources read for, by (alias, kind)."""
    live: Mapping[Key, Sequence[LiveObject]] = field(default_factory=dict)
    """The live objects read, by (alias, kind)."""
    diffs: Mapping[str, Change | None] = field(default_factory=dict)
    """Each declared object's plain diff by address (None: in sync), before `--target`."""
    providers: Mapping[str, Provider] = field(default_factory=dict)
    targets: frozenset[str] = frozenset()
    """`--target` addresses; empty: every object."""

    def targeted(self, address: str) -> bool:
        return not self.targets or address in self.targets


def no_refusals(plan: Plan) -> Refusals:
    """Where `Phase.refuse` folds from: nothing refused yet."""
    return Refusals({}, {}, (), len(plan.changes))


class Phase:
    """One rule between desired and applied (octoDNS's processors are the model).

    `plan` runs while a plan is made: it returns a new plan, never editing the one given.
    `refuse` runs before anything is written, over a plan just made or a saved one: it
    returns the refusals so far with this rule's added. Both default to doing nothing, so a
    phase implements only what it needs."""

    name: ClassVar[str]

    def plan(self, plan: Plan, ctx: Context) -> Plan:
        return dataclasses.replace(plan)

    def refuse(self, plan: Plan, ctx: Context, so_far: Refusals) -> Refusals:
        return so_far
