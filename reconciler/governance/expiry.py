"""Expiring access (docs/governance.md): `expires:` read, and what a lapsed grant does to a plan.

An expiry is never sent to an API and never compared: it is kept beside the normalised
state (`Resource.expires`, `Resource.member_expires`), and evaluated at `clock.now()`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from reconciler.core import clock, notices
from reconciler.core.errors import Problem
from reconciler.core.model import (
    Action,
    Change,
    Expiry,
    KindSpec,
    LiveObject,
    MemberChange,
    Plan,
    Resource,
    Source,
)
from reconciler.core.yamlload import Located
from reconciler.governance.phase import Context, Phase

FIELD = "expires"
EXPIRED = "expired"
"""The `reason` of a delete or a member removal that an expiry causes."""

# -- reading manifests ---------------------------------------------------------------------


def as_text(value: Any) -> None:
    """Turn the dates YAML made of unquoted `expires:` values back into text, in place, so
    the schema (a string) and `clock.parse_when` see what the user wrote. A timestamp
    without a zone stays without one, and is refused as such."""
    spec = value.get("spec") if isinstance(value, dict) else None
    if not isinstance(spec, dict):
        return
    holders = [spec] + [
        item for v in spec.values() if isinstance(v, list) for item in v if isinstance(item, dict)
    ]
    for holder in holders:
        when = holder.get(FIELD)
        if isinstance(when, date):
            holder[FIELD] = when.isoformat()


def read(
    doc: Located,
    spec: dict[str, Any],
    kind: KindSpec,
    member_key: Callable[[str, Any], str],
    max_days: int | None,
) -> tuple[Expiry | None, dict[str, Expiry], list[Problem]]:
    """The object's and each member's expiry, and the problems with them: a malformed
    value or one beyond `max_days` is an error; a date already past, a warning."""
    problems: list[Problem] = []
    found: dict[str, Expiry] = {}
    whole = None
    places: list[tuple[tuple[Any, ...], Any, str | None]] = []
    if FIELD in spec:
        places.append((("spec", FIELD), spec[FIELD], None))
    if kind.members_field:
        for i, member in enumerate(spec.get(kind.members_field) or []):
            if isinstance(member, dict) and FIELD in member:
                mkey = member_key(kind.name, member)
                places.append((("spec", kind.members_field, i, FIELD), member[FIELD], mkey))
    now = clock.now()
    for path, raw, key in places:
        name = ".".join(str(p) for p in path)
        try:
            when = clock.parse_when(raw)
        except ValueError as exc:
            problems.append(doc.problem(path, f"{name}: {exc}", "expires"))
            continue
        if max_days is not None and when > now + timedelta(days=max_days):
            problems.append(
                doc.problem(
                    path,
                    f"{name}: {clock.show(when)} is more than settings.max_grant_days "
                    f"({max_days}) days from now",
                    "max-grant-days",
                )
            )
            continue
        line, col = doc.where(path)
        expiry = Expiry(when, Source(doc.file, line, col))
        if when <= now:
            what = f"member {key!r}" if key is not None else "this grant"
            notices.warn(
                doc.file,
                line,
                col,
                f"{name}: {what} expired on {clock.show(when)}; the next apply revokes it",
                "expired",
            )
        if key is None:
            whole = expiry
        else:
            found[key] = expiry
    return whole, found, problems


# -- planning ----------------------------------------------------------------------------


def lapsed(expiry: Expiry | None, now: datetime | None = None) -> bool:
    """Whether the grant has ended: access ends at the very instant given."""
    return expiry is not None and expiry.when <= (now or clock.now())


def revise(
    spec: KindSpec, resource: Resource, live: LiveObject | None, change: Change | None
) -> Change | None:
    """The change for one declared object at `clock.now()`, from `change`, its plain diff
    against `live` (None: in sync): a lapsed object is deleted if it exists (whatever
    prune says) and never created; lapsed members leave the desired list and are removed,
    even under `members: additive`. A new change; `change` is left as it is."""
    if resource.expires is None and not resource.member_expires:
        return change
    now = clock.now()
    if lapsed(resource.expires, now):
        assert resource.expires is not None
        if live is None:
            return None
        return Change(
            Action.DELETE,
            resource.kind,
            resource.provider,
            resource.identity,
            None,
            live,
            managed=sorted(live.state),
            scope=live.scope or resource.scope,
            source=resource.source,
            labels={**resource.labels, **live.labels},
            expires=clock.show(resource.expires.when),
            reason=EXPIRED,
        )
    gone = frozenset(k for k, e in resource.member_expires.items() if lapsed(e, now))
    mf = spec.members_field
    if gone and mf and isinstance(resource.desired.get(mf), dict):
        change = _without(resource, live, change, mf, gone)
    if change is None:
        return None
    return dataclasses.replace(
        change,
        expires=clock.show(resource.expires.when) if resource.expires else change.expires,
        members=[_annotated(m, resource, gone) for m in change.members],
    )


def _without(
    resource: Resource,
    live: LiveObject | None,
    change: Change | None,
    mf: str,
    gone: frozenset[str],
) -> Change | None:
    """`change` as if the lapsed members `gone` were not declared, and removed if live."""
    want = {k: v for k, v in resource.desired[mf].items() if k not in gone}
    desired = {**resource.desired, mf: want}
    if live is None:
        assert change is not None  # nothing live: the plain diff is a create
        return dataclasses.replace(change, desired=desired)
    have = live.state.get(mf) or {}
    authoritative = resource.members_mode == "authoritative"
    members: list[MemberChange] = []
    for key in sorted(set(have) | set(want)):
        if key not in have:
            members.append(MemberChange("add", key, None, want[key]))
        elif key not in want:
            if authoritative or key in gone:
                members.append(MemberChange("remove", key, have[key], None))
        elif have[key] != want[key]:
            members.append(MemberChange("change", key, have[key], want[key]))
    fields = change.fields if change is not None else []
    if not fields and not members:
        return None
    kept = {k: v for k, v in have.items() if k not in gone}
    after = {**live.state, **desired, mf: want if authoritative else {**kept, **want}}
    if change is not None:
        return dataclasses.replace(change, desired=after, members=members)
    # In sync but for the lapsed members: fields alike, so an update, never a replace.
    return Change(
        Action.UPDATE,
        resource.kind,
        resource.provider,
        resource.identity,
        after,
        live,
        managed=sorted(resource.desired),
        members=members,
        scope=resource.scope,
        source=resource.source,
        labels={**resource.labels, **live.labels},
    )


class ExpiryPhase(Phase):
    """Lapsed grants revoked (`revise`); an expired delete of an object the vendor
    protects (`protected_roles`) is listed as protected with its expiry, never planned
    (docs/governance.md: protection wins)."""

    name = "expiry"

    def plan(self, plan: Plan, ctx: Context) -> Plan:
        changes = {c.address: c for c in plan.changes}
        in_sync = plan.in_sync
        held: dict[str, str] = {}
        for (alias, kind), declared in ctx.declared.items():
            provider = ctx.providers[alias]
            spec = provider.KINDS[kind]
            live_by_id = {o.identity: o for o in ctx.live.get((alias, kind), ())}
            for r in declared:
                if r.expires is None and not r.member_expires:
                    continue
                plain = ctx.diffs.get(r.address)
                live = live_by_id.get(r.identity)
                change = revise(spec, r, live, plain)
                in_sync += (change is None) - (plain is None)
                if not ctx.targeted(r.address):
                    continue
                changes.pop(r.address, None)
                if change is None:
                    continue
                if change.reason == EXPIRED and change.action is Action.DELETE:
                    assert change.live is not None
                    if not provider.may_prune(kind, change.live):
                        held[change.address] = change.expires or ""
                        continue
                changes[change.address] = change
        return dataclasses.replace(
            plan,
            changes=list(changes.values()),
            in_sync=in_sync,
            protected=sorted([*plan.protected, *held]),
            protected_expired={**plan.protected_expired, **held},
        )


PHASE = ExpiryPhase()


def _annotated(m: MemberChange, resource: Resource, gone: frozenset[str]) -> MemberChange:
    expiry = resource.member_expires.get(m.key)
    if expiry is None:
        return m
    shown = clock.show(expiry.when)
    if m.action == "remove" and m.key in gone:
        return dataclasses.replace(m, expires=shown, reason=EXPIRED)
    return dataclasses.replace(m, expires=shown)


def verified(change: Change) -> bool:
    """For a saved plan: whether a delete it says an expiry causes is really due now,
    from the expiry the plan recorded (the plan proves nothing else)."""
    if change.reason != EXPIRED or change.expires is None:
        return False
    try:
        return clock.parse_when(change.expires) <= clock.now()
    except ValueError:
        return False


# -- the `expiring` report ------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiringGrant:
    """One declared grant with an expiry: an object's (member None) or a member's."""

    address: str
    member: str | None
    label: str | None
    when: datetime
    source: Source

    def days_left(self, now: datetime) -> int:
        """Whole days until the grant ends; negative once it has."""
        return math.floor((self.when - now).total_seconds() / 86400)


def grants(resources: list[Resource]) -> list[ExpiringGrant]:
    """Every grant the resources give with an expiry, soonest first."""
    found = []
    for r in resources:
        if r.expires is not None:
            found.append(ExpiringGrant(r.address, None, None, r.expires.when, r.expires.source))
        for key, e in r.member_expires.items():
            found.append(ExpiringGrant(r.address, key, r.labels.get(key), e.when, e.source))
    return sorted(found, key=lambda g: (g.when, g.address, g.member or ""))


def due(resources: list[Resource], within: timedelta) -> list[ExpiringGrant]:
    """The grants that have lapsed or lapse within `within` of `clock.now()`."""
    horizon = clock.now() + within
    return [g for g in grants(resources) if g.when <= horizon]
