"""Expiring access (SPEC §5.2): reading `expires:`, and what a lapsed grant means for a plan.

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

from reconciler.core import clock
from reconciler.core import notices as warnings
from reconciler.core.errors import Problem
from reconciler.core.model import (
    Action,
    Change,
    Expiry,
    KindSpec,
    LiveObject,
    MemberChange,
    Resource,
    Source,
)
from reconciler.core.yamlload import Located

FIELD = "expires"
EXPIRED = "expired"
"""The `reason` of a delete or a member removal that an expiry causes."""

Differ = Callable[[KindSpec, Resource, LiveObject | None, frozenset[str]], Change | None]


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
            warnings.warn(
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


def plan_one(
    spec: KindSpec, resource: Resource, live: LiveObject | None, diff: Differ
) -> Change | None:
    """The change for one declared object at `clock.now()`: a lapsed object is deleted if
    it exists (whatever prune says) and never created; lapsed members leave the desired
    list and are removed, even under `members: additive`."""
    if resource.expires is None and not resource.member_expires:
        return diff(spec, resource, live, frozenset())
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
    effective = resource
    mf = spec.members_field
    if gone and mf and isinstance(resource.desired.get(mf), dict):
        kept = {k: v for k, v in resource.desired[mf].items() if k not in gone}
        effective = dataclasses.replace(resource, desired={**resource.desired, mf: kept})
    change = diff(spec, effective, live, gone)
    if change is None:
        return None
    if resource.expires is not None:
        change.expires = clock.show(resource.expires.when)
    change.members = [_annotated(m, resource, gone) for m in change.members]
    return change


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
