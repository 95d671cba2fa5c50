"""Privilege guards (docs/governance.md): each change's before and after states, past the rules.

The engine knows only the rules' shapes; what a manager, an opening to everyone or an
admin permission is comes from each kind's handler (`GuardFacts.managers`, `openness`,
`admin_grants`), so a vendor adds its semantics without touching this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from reconciler.core.model import Action, Change, Finding, Plan, Refusals, Resource, State
from reconciler.core.settings import GuardSettings
from reconciler.governance.phase import Context, Phase
from reconciler.plugin.provider import GuardFacts
from reconciler.plugin.registry import kind_types, providers

LAST_MANAGER = "last-manager"
EVERYONE = "everyone"
ADMIN_PERMISSION = "admin-permission"
MASS_GRANT = "mass-grant"
RULES: tuple[str, ...] = (LAST_MANAGER, EVERYONE, ADMIN_PERMISSION, MASS_GRANT)


def admin_vocabulary() -> list[str]:
    """Every permission name `settings.guards.admin_permissions` may list (all vendors)."""
    words: set[str] = set()
    for cls in providers().values():
        for handler in cls.handlers.values():
            words |= handler.admin_vocabulary()
    return sorted(words)


def _handler(kind: str) -> GuardFacts | None:
    vtype = kind_types().get(kind)
    return providers()[vtype].handlers.get(kind) if vtype else None


def check(
    kind: str,
    before: State | None,
    after: State | None,
    settings: GuardSettings,
    labels: Mapping[str, str] | None = None,
) -> list[Finding]:
    """The rules a change of a `kind` object from `before` (None: absent) to `after`
    (None: deleted) trips, in RULES order. Pure: model values in, findings out."""
    return _check(_handler(kind), before, after, settings, labels)


def _check(
    handler: GuardFacts | None,
    before: State | None,
    after: State | None,
    settings: GuardSettings,
    labels: Mapping[str, str] | None = None,
) -> list[Finding]:
    if handler is None or after is None:
        return []
    names = labels or {}
    found: list[Finding] = []
    disabled = settings.disabled
    for rule, run in _RULES.items():
        if disabled and rule in disabled:
            continue
        try:
            message = run(handler, before, after, settings, names)
        except (TypeError, ValueError, AttributeError, KeyError):
            # Only a hand-edited plan holds states the hooks cannot read: refuse, not crash.
            message = "the state cannot be checked (malformed)"
        if message:
            found.append(Finding(rule, message))
    return found


def _who(keys: Iterable[str], labels: Mapping[str, str]) -> str:
    shown = [f"{k} ({labels[k]})" if labels.get(k) and labels[k] != k else k for k in keys]
    return ", ".join(sorted(shown))


def _last_manager(
    h: GuardFacts, before: State | None, after: State, s: GuardSettings, labels: Mapping[str, str]
) -> str | None:
    if before is None:
        return None
    left = h.managers(after)  # first: most changes leave a manager, and need look no further
    if left is None or left:
        return None
    had = h.managers(before)
    if not had:
        return None
    return f"leaves no {h.MANAGER} (removes the last: {_who(had, labels)})"


def _everyone(
    h: GuardFacts, before: State | None, after: State, s: GuardSettings, labels: Mapping[str, str]
) -> str | None:
    now = h.openness(after)
    if not any(now.values()):  # closed to everyone after the change: nothing was opened
        return None
    was = h.openness(before) if before is not None else {}
    names: tuple[str, ...] = h.OPEN_LEVELS
    raised = []
    for audience, level in sorted(now.items()):
        old = was.get(audience, 0)
        if level > old:
            raised.append(f"{audience} {_level(names, old)} -> {_level(names, level)}")
    return "opens it to everyone: " + "; ".join(raised) if raised else None


def _level(names: tuple[str, ...], level: int) -> str:
    return names[level] if 0 <= level < len(names) else str(level)


def _admin_permission(
    h: GuardFacts, before: State | None, after: State, s: GuardSettings, labels: Mapping[str, str]
) -> str | None:
    gained: list[str] = h.admin_grants(before, after, s.admin_permissions)
    if not gained:
        return None
    return f"gives admin-level permission{'s' * (len(gained) != 1)} {', '.join(gained)}"


def _mass_grant(
    h: GuardFacts, before: State | None, after: State, s: GuardSettings, labels: Mapping[str, str]
) -> str | None:
    field = h.SPEC.members_field
    if field is None:
        return None
    now = after.get(field)
    if not isinstance(now, dict) or len(now) <= s.max_new_members:
        return None  # too few members to have added more than the limit
    was = (before or {}).get(field)
    was = was if isinstance(was, dict) else {}
    added = sum(1 for key in now if key not in was)
    if added <= s.max_new_members:
        return None
    return f"adds {added} members, more than max_new_members {s.max_new_members}"


_RULES: dict[str, Callable[..., str | None]] = {
    LAST_MANAGER: _last_manager,
    EVERYONE: _everyone,
    ADMIN_PERMISSION: _admin_permission,
    MASS_GRANT: _mass_grant,
}
assert tuple(_RULES) == RULES


def _new_manager(
    h: GuardFacts, before: State | None, after: State, s: GuardSettings, labels: Mapping[str, str]
) -> str | None:
    now = h.managers(after) or set()
    was = (h.managers(before) if before is not None else None) or set()
    added = now - was
    return f"adds or raises a {h.MANAGER}: {_who(added, labels)}" if added else None


def escalation(
    kind: str,
    before: State | None,
    after: State | None,
    admin_permissions: frozenset[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """What going from `before` to `after` (None: absent) newly grants of what the guards
    watch: an opening to everyone, a manager added or raised, an admin-level permission
    (`admin_permissions`, None: each vendor's default list); one message each. For drift
    ignores (ignores.py), which must never hide such a difference, whichever side has it;
    no rule is read as disabled, so turning one off does not let an ignore hide it."""
    handler = _handler(kind)
    if handler is None or after is None:
        return []
    names = labels or {}
    out = []
    watched: tuple[Callable[..., str | None], ...] = (_everyone, _new_manager)
    try:
        for run in watched:  # neither reads the settings
            message = run(handler, before, after, None, names)
            if message:
                out.append(message)
        gained: list[str] = handler.admin_grants(before, after, admin_permissions)
    except (TypeError, ValueError, AttributeError, KeyError):
        return [*out, "the state cannot be checked (malformed)"]
    if gained:
        out.append(f"gives admin-level permission{'s' * (len(gained) != 1)} {', '.join(gained)}")
    return out


def findings(change: Change, settings: GuardSettings) -> list[Finding]:
    """The rules `change` trips, each marked allowed when `change.allows` names it.

    Computed from the change's before (live) and after (desired) states, and again from
    before with its member list applied, since that list is what some vendors write: a
    hand-edited saved plan cannot hide a grant in one of the two."""
    handler = _handler(change.kind)
    before = change.live.state if change.live is not None else None
    after = None if change.action is Action.DELETE else change.desired
    found = {f.rule: f for f in _check(handler, before, after, settings, change.labels)}
    applied = _with_members(change, before, handler)
    if applied is not None and after is not None:
        for f in _check(handler, before, applied, settings, change.labels):
            found.setdefault(f.rule, f)
    out = []
    for rule in RULES:
        hit = found.get(rule)
        if hit is not None:
            reason = change.allows.get(rule)
            out.append(Finding(hit.rule, hit.message, reason) if reason else hit)
    return out


def _with_members(change: Change, before: State | None, handler: GuardFacts | None) -> State | None:
    """`before` with the change's member adds, changes and removals applied; None when the
    change has no member list, or when that is the change's after-state already (as in
    every plan the engine makes: only a hand-edited saved plan differs), so the rules need
    not run twice on one state."""
    field = handler.SPEC.members_field if handler is not None else None
    desired = change.desired
    if field is None or not change.members or not isinstance(desired, dict):
        return None
    was = (before or {}).get(field)
    members = dict(was) if isinstance(was, dict) else {}
    for m in change.members:
        if m.action == "remove":
            members.pop(m.key, None)
        else:
            members[m.key] = m.after
    if field in desired and desired[field] == members and (before or {}).keys() <= desired.keys():
        return None  # {**before, **desired, field: members} == desired
    return {**(before or {}), **desired, field: members}


def attach(plan: Plan, resources: Sequence[Resource], settings: GuardSettings) -> Plan:
    """`plan` with each change given its document's allows and the guards it trips (after
    planning, before any write). A new plan; `plan` is left as it is."""
    allows = {r.address: r.allows for r in resources if r.allows}
    changes = []
    for change in plan.changes:
        allowed = dataclasses.replace(change, allows=dict(allows.get(change.address, {})))
        changes.append(dataclasses.replace(allowed, guards=findings(allowed, settings)))
    return dataclasses.replace(plan, changes=changes)


class GuardsPhase(Phase):
    """Privilege guards: planning records each change's findings; before a write, a change
    with a finding no document allows is refused (that change only; `--force` writes it).
    A change protection refuses already is not looked at."""

    name = "guards"

    def plan(self, plan: Plan, ctx: Context) -> Plan:
        return attach(plan, ctx.resources, ctx.config.guards)

    def refuse(self, plan: Plan, ctx: Context, so_far: Refusals) -> Refusals:
        found = dict(so_far.guards)
        for change in plan.changes:
            if change.address in so_far.protected:
                continue
            hits = refused(change, ctx.config.guards)
            if hits:
                found[change.address] = tuple(hits)
        return dataclasses.replace(so_far, guards=found)


PHASE = GuardsPhase()


def refused(change: Change, settings: GuardSettings) -> list[Finding]:
    """The findings of `change` no document allows, recomputed from its before and after
    states with `settings` (a saved plan's own findings are never read)."""
    return [f for f in findings(change, settings) if not f.allowed]


def check_allow(allow: Any, where: tuple[str, ...]) -> list[tuple[tuple[Any, ...], str]]:
    """What the schema cannot say about `metadata.allow`: a reason that is only blanks."""
    if not isinstance(allow, dict):
        return []
    return [
        ((*where, rule), f"{'.'.join(where)}.{rule}: must not be empty")
        for rule, reason in allow.items()
        if isinstance(reason, str) and not reason.strip()
    ]
