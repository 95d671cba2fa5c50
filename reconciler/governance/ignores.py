"""Drift ignores that expire (docs/governance.md): `settings.ignore` entries, the plan filter.

An entry names an object by address or glob (`*`, `?`), optionally one share-list member
(its key as plans show it) and/or some fields, with a reason, an owner and an `until` at
most `settings.max_ignore_days` ahead. While it is active (`until` after `clock.now()`),
`filter_plan` takes the differences it matches out of the plan: they are never written and
are not drift, and are listed in `Plan.ignored`. The after-state of a share-list object
keeps the live value of an ignored member or field, so that a write sending the whole list
(BitSight) does not carry the ignored difference either.

Once `until` has passed the entry stops applying and loading the config warns, naming the
entry and its owner; an active entry that names no object, member or field the run read is
a warning too. Warnings go through reconciler/core/notices.py.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import timedelta
from typing import Any

from reconciler.core import clock, notices
from reconciler.core.errors import Problem
from reconciler.core.model import (
    Action,
    Change,
    Ignored,
    MemberChange,
    Plan,
    Resource,
    Source,
)
from reconciler.core.settings import Ignore
from reconciler.core.yamlload import Located
from reconciler.governance import guards
from reconciler.governance.phase import Context, Phase
from reconciler.plugin.registry import kind_spec

DEFAULT_MAX_DAYS = 90
MAX_IGNORE_DAYS = 365
"""`max_ignore_days` is at most this, whatever a file says: every ignore is reviewed yearly."""


def load(doc: Located, settings: dict[str, Any]) -> tuple[list[Ignore], list[Problem]]:
    """The entries of a schema-valid config's `settings`, and the problems with them.

    Errors: a malformed `until`, one more than `max_ignore_days` ahead, an empty reason or
    owner. An entry already expired is a warning (core/notices.py), and is returned inactive.
    """
    entries: list[Ignore] = []
    problems: list[Problem] = []
    max_days = int(settings.get("max_ignore_days", DEFAULT_MAX_DAYS))
    if max_days > MAX_IGNORE_DAYS:
        problems.append(
            doc.problem(
                ("settings", "max_ignore_days"),
                f"settings.max_ignore_days: {max_days} is more than {MAX_IGNORE_DAYS}: an "
                f"ignore must be reviewed at least once a year",
                "ignore",
            )
        )
        max_days = MAX_IGNORE_DAYS
    now = clock.now()
    for i, raw in enumerate(settings.get("ignore") or []):
        at = ("settings", "ignore", i)
        bad = False
        for key in ("reason", "owner"):
            if not str(raw.get(key, "")).strip():
                what = "why the difference is accepted" if key == "reason" else "who answers for it"
                problems.append(
                    doc.problem(
                        (*at, key),
                        f"settings.ignore.{i}.{key}: must not be empty: say {what}",
                        "ignore",
                    )
                )
                bad = True
        try:
            until = clock.parse_when(raw.get("until"))
        except ValueError as exc:
            problems.append(
                doc.problem((*at, "until"), f"settings.ignore.{i}.until: {exc}", "ignore")
            )
            continue
        if until > now + timedelta(days=max_days):
            problems.append(
                doc.problem(
                    (*at, "until"),
                    f"settings.ignore.{i}.until: {clock.show(until)} is more than "
                    f"max_ignore_days ({max_days}) ahead; an ignore must be reviewed at least "
                    f"every {max_days} days",
                    "ignore",
                )
            )
            continue
        if bad:
            continue
        line, col = doc.where(at)
        entry = Ignore(
            address=str(raw["address"]),
            reason=str(raw["reason"]).strip(),
            owner=str(raw["owner"]).strip(),
            until=until,
            source=Source(doc.file, line, col),
            member=None if raw.get("member") is None else str(raw["member"]),
            fields=tuple(str(f) for f in raw.get("fields") or ()),
        )
        if not entry.active:
            notices.warn(
                doc.file,
                line,
                col,
                f"{entry.name} expired on {clock.show(until)} (owner {entry.owner}): "
                "its differences are back",
                "ignore-expired",
            )
        entries.append(entry)
    return entries, problems


def filter_plan(
    plan: Plan,
    ignores: list[Ignore],
    resources: list[Resource],
    aliases: set[str],
    admin_permissions: frozenset[str] | None = None,
) -> Plan:
    """A new plan: `plan` without the differences the active entries match, those listed
    in `Plan.ignored`; an active entry that names nothing the run read is a warning (unless
    its address names a provider alias outside `aliases`, the run's providers).

    An entry never hides what a guard would flag (`guards.escalation`, with the
    `settings.guards.admin_permissions` given, None: the defaults): a difference that
    opens the object to everyone, adds or raises a manager or adds an admin-level
    permission, on the live side or the manifests', stays in the plan (so drift reports
    it), with a warning naming the entry."""
    active = [i for i in ignores if i.active]
    if not active:
        return dataclasses.replace(plan)
    settings = admin_permissions
    used: set[int] = set()
    changes: list[Change] = []
    ignored = list(plan.ignored)
    in_sync = plan.in_sync
    for change in plan.changes:
        kept: Change | None = change
        for n, ignore in enumerate(active):
            if kept is None or not ignore.matches(kept.address):
                continue
            narrowed, left_out = narrow(kept, ignore)
            if left_out and _hides_a_guard(kept, narrowed, ignore, settings):
                used.add(n)
                continue
            kept = narrowed
            if left_out:
                used.add(n)
                ignored.extend(left_out)
        if kept is not None:
            changes.append(kept)
        elif change.action in (Action.UPDATE, Action.REPLACE):
            in_sync += 1
    unmanaged = []
    for u in plan.unmanaged:
        whole = [
            n
            for n, i in enumerate(active)
            if i.member is None and not i.fields and i.matches(u.address)
        ]
        flagged = guards.escalation(u.kind, None, u.live.state, settings, u.live.labels)
        if whole and flagged:
            used.add(whole[0])
            _not_hidden(active[whole[0]], u.address, flagged)
            unmanaged.append(u)
        elif whole:
            used.add(whole[0])
            ignored.append(active[whole[0]].entry(u.address, "unmanaged object"))
        else:
            unmanaged.append(u)
    plan = dataclasses.replace(
        plan, changes=changes, unmanaged=unmanaged, ignored=ignored, in_sync=in_sync
    )
    for n, ignore in enumerate(active):
        if n in used or _names_something(ignore, plan, resources):
            continue
        alias = ignore.address.split("/", 1)[0]
        if not ("*" in alias or "?" in alias or alias in aliases):
            continue  # another provider's object, not read in this run (`--provider`)
        s = ignore.source
        notices.warn(
            s.file,
            s.line,
            s.column,
            f"{ignore.name} matches nothing: no object, member or field it names was read "
            f"(owner {ignore.owner}); fix or remove it",
            "ignore-unmatched",
        )
    return plan


class IgnoresPhase(Phase):
    """Active drift ignores take what they match out of the plan (`filter_plan`)."""

    name = "ignores"

    def plan(self, plan: Plan, ctx: Context) -> Plan:
        return filter_plan(
            plan,
            ctx.config.ignores,
            list(ctx.resources),
            set(ctx.aliases),
            ctx.config.guards.admin_permissions,
        )


PHASE = IgnoresPhase()


def _hides_a_guard(
    change: Change, narrowed: Change | None, ignore: Ignore, settings: frozenset[str] | None
) -> bool:
    """Whether leaving out what `ignore` matches of `change` (`narrowed`: what is left)
    would hide a difference a guard watches: the manifests' state against the one kept
    (live where ignored), both ways. When it would, the entry names the address in a
    warning and the change stays whole."""
    live = change.live.state if change.live is not None else None
    wanted = change.desired if change.action is not Action.DELETE else None
    kept = narrowed.desired if narrowed is not None else live
    if narrowed is not None and narrowed.action is Action.DELETE:
        kept = None
    labels = change.labels
    flagged = guards.escalation(change.kind, wanted, kept, settings, labels)
    flagged += [
        f"the manifests' change {m}"
        for m in guards.escalation(change.kind, kept, wanted, settings, labels)
    ]
    if flagged:
        _not_hidden(ignore, change.address, flagged)
    return bool(flagged)


def _not_hidden(ignore: Ignore, address: str, flagged: list[str]) -> None:
    s = ignore.source
    notices.warn(
        s.file,
        s.line,
        s.column,
        f"{ignore.name} does not hide {address}: {'; '.join(flagged)}; a guard would flag "
        f"that, so it stays in the plan and in drift (owner {ignore.owner})",
        "ignore-guarded",
    )


def narrow(change: Change, ignore: Ignore) -> tuple[Change | None, list[Ignored]]:
    """`change` without what `ignore` matches (None when nothing is left), and what was
    left out. The caller has matched the address."""
    address = change.address
    if ignore.member is None and not ignore.fields:
        return None, [ignore.entry(address, f"object ({change.action.value})")]
    if change.live is None or change.desired is None:
        # A member or field ignore is about a difference in an object that exists and is
        # kept: a create or a delete as a whole is left as it is.
        return change, []
    spec = kind_spec(change.kind)
    mf = spec.members_field
    live = change.live.state
    desired = dict(change.desired)
    left_out: list[Ignored] = []
    fields = []
    for f in change.fields:
        if ignore.member is None and f.field in ignore.fields:
            _keep_live(desired, live, f.field)
            left_out.append(ignore.entry(address, f"field {f.field}"))
        else:
            fields.append(f)
    members: list[MemberChange] = []
    have: dict[str, Any] = (live.get(mf) or {}) if mf else {}
    for m in change.members:
        whole_list = ignore.member is None and mf is not None and mf in ignore.fields
        if not whole_list and not ignore.matches_member(m.key):
            members.append(m)
            continue
        assert mf is not None
        wanted = desired[mf] = dict(desired.get(mf) or {})
        if whole_list or not ignore.fields:
            if m.key in have:
                wanted[m.key] = copy.deepcopy(have[m.key])
            else:
                wanted.pop(m.key, None)
            left_out.append(ignore.entry(address, f"member {m.key} ({m.action})"))
            continue
        # Only some attributes of this member: those keep their live values.
        if m.action != "change" or not isinstance(m.before, dict) or not isinstance(m.after, dict):
            members.append(m)
            continue
        after = dict(m.after)
        for attr in ignore.fields:
            if attr in m.before and after.get(attr) != m.before[attr]:
                after[attr] = copy.deepcopy(m.before[attr])
                left_out.append(ignore.entry(address, f"member {m.key} field {attr}"))
        wanted[m.key] = after
        if after != m.before:
            members.append(dataclasses.replace(m, after=after))
    if not left_out:
        return change, []
    if not fields and not members:
        return None, left_out
    action = change.action
    if action is Action.REPLACE and not any(f.field in spec.replace_fields for f in fields):
        action = Action.UPDATE
    narrowed = dataclasses.replace(
        change, action=action, desired=desired, fields=fields, members=members
    )
    return narrowed, left_out


def _keep_live(desired: dict[str, Any], live: dict[str, Any], name: str) -> None:
    if name in live:
        desired[name] = copy.deepcopy(live[name])
    else:
        desired.pop(name, None)


def _names_something(ignore: Ignore, plan: Plan, resources: list[Resource]) -> bool:
    """Whether the entry names an object of the run (declared, changed or read), and the
    member and fields it names exist there."""
    states: list[tuple[str, dict[str, Any]]] = []
    for r in resources:
        if ignore.matches(r.address):
            states.append((r.kind, r.desired))
    for c in plan.changes:
        if ignore.matches(c.address):
            states += [(c.kind, s) for s in (c.desired, c.live.state if c.live else None) if s]
    for u in plan.unmanaged:
        if ignore.matches(u.address):
            states.append((u.kind, u.live.state))
    for kind, state in states:
        mf = kind_spec(kind).members_field
        if ignore.member is None:
            if all(f in state for f in ignore.fields):
                return True
            continue
        members = state.get(mf) if mf else None
        if not isinstance(members, dict):
            continue
        for key, attrs in members.items():
            if ignore.matches_member(key) and (
                not ignore.fields or (isinstance(attrs, dict) and set(ignore.fields) <= set(attrs))
            ):
                return True
    return False
