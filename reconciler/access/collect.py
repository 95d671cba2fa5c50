"""Who can reach what (docs/access.md): declared and live states as the report's rows.

Vendor-neutral: each kind's handler says what a state grants (`KindHandler.grants`, or
`role` for a permission set) and which principals a `Person` claims; this module only
matches the declared grants of each object with its live ones:

- declared and live alike: `in-sync`; declared with an expiry that has passed (the
  member's or the whole object's) and still live: `expired`;
- live, not declared: `live-only` (a live grant whose access differs from the declared one
  is `live-only`, and the declared one `declared-only`);
- declared, not live: `declared-only`; a lapsed declared grant that is not live is no
  access at all and is left out.

`live` None (`access --desired`) means the manifests alone: every row is `declared-only`.
`privileged` is the vendor's word (everyone, admin) or the `last-manager` guard's:
a member that `KindHandler.managers` counts, so the report and the guards agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler.access.model import LIVE, Report, RoleRow, Row, Status
from reconciler.core import clock
from reconciler.core.model import Expiry, LiveObject, Resource, State, address_of
from reconciler.governance import expiry
from reconciler.input import people
from reconciler.input.manifest import Workspace
from reconciler.plugin.provider import Grant, KindHandler
from reconciler.plugin.registry import PROVIDERS

Live = Mapping[tuple[str, str], list[LiveObject]]
"""Every live object read, by (provider alias, kind): `workflow.read_live`."""


def collect(
    ws: Workspace,
    live: Live | None,
    resources: list[Resource] | None = None,
    claims: Mapping[str, list[str]] | None = None,
) -> Report:
    """The report at `clock.now()` for `resources` (default: the workspace's), against
    `live` (None: the manifests alone, offline). `claims` is what each `Person` claim by
    name resolves to (`workflow.read_live`); without it (offline) a name claims only the
    principals the manifests themselves name by that name."""
    chosen = ws.resources if resources is None else resources
    groups: dict[tuple[str, str], list[Resource]] = {}
    for r in chosen:
        groups.setdefault((r.provider, r.kind), []).append(r)
    now = clock.now()
    rows: list[Row] = []
    roles: list[RoleRow] = []
    joined = _Join(people.index(ws.persons, claims))
    admin = ws.config.guards.admin_permissions
    for (alias, kind), declared in sorted(groups.items()):
        handler = PROVIDERS[ws.config.providers[alias].type].handlers[kind]
        objs = {o.identity: o for o in (live or {}).get((alias, kind), [])}
        by_id = {r.identity: r for r in declared}
        for identity in sorted(set(by_id) | set(objs if live is not None else ())):
            found, listed = _object_rows(
                alias, kind, handler, by_id.get(identity), objs.get(identity), now, joined, admin
            )
            rows.extend(found)
            roles.extend(listed)
    return Report.build(rows, roles, at=now)


@dataclass
class _Join:
    """Principal key -> person, through the keys a Person claims: by the principal's key
    only, never by a label the vendor shows beside it (anyone may rename a group)."""

    owners: dict[str, str]

    def person(self, grant: Grant) -> str | None:
        return self.owners.get(grant.principal)


def _object_rows(
    alias: str,
    kind: str,
    handler: KindHandler[Any],
    resource: Resource | None,
    obj: LiveObject | None,
    now: datetime,
    join: _Join,
    admin: frozenset[str] | None,
) -> tuple[list[Row], list[RoleRow]]:
    identity = resource.identity if resource is not None else obj.identity if obj else ()
    address = address_of(alias, kind, identity)
    label = (obj.title if obj is not None else "") or (identity[-1] if identity else address)
    labels = {**(resource.labels if resource else {}), **(obj.labels if obj else {})}
    lapsed = resource is not None and expiry.lapsed(resource.expires, now)
    desired = _declared_state(handler, resource, obj)
    source = f"{resource.source.file}:{resource.source.line}" if resource else LIVE

    def row(g: Grant, state: State, status: Status, expires: Expiry | None) -> Row:
        managers = handler.managers(state) or set()
        return Row(
            principal=g.principal,
            principal_label=g.label,
            person=join.person(g),
            provider=alias,
            kind=kind,
            object=address,
            object_label=label,
            access=g.access,
            detail=g.detail,
            status=status,
            expires=clock.show(expires.when) if expires else None,
            privileged=g.privileged or (g.member is not None and g.member in managers),
            source=LIVE if status == "live-only" else source,
        )

    def expiry_of(g: Grant) -> Expiry | None:
        if resource is None:
            return None
        member = resource.member_expires.get(g.member) if g.member is not None else None
        return member or resource.expires

    rows: list[Row] = []
    want = handler.grants(desired, labels) if desired is not None else []
    have = handler.grants(obj.state, labels) if obj is not None else []
    if want is not None and have is not None:
        wanted = {g.principal: g for g in want}
        found = {g.principal: g for g in have}
        for principal in sorted(set(wanted) | set(found)):
            d, lv = wanted.get(principal), found.get(principal)
            ends = expiry_of(d) if d is not None else expiry_of(lv) if lv and lapsed else None
            gone = lapsed or (ends is not None and expiry.lapsed(ends, now))
            if lv is not None and obj is not None:
                if gone and (d is not None or lapsed):
                    rows.append(row(lv, obj.state, "expired", ends))
                    continue
                if d is not None and _same(d, lv):
                    rows.append(row(d, obj.state, "in-sync", ends))
                    continue
                rows.append(row(lv, obj.state, "live-only", None))
            if d is not None and desired is not None and not gone:
                rows.append(row(d, desired, "declared-only", ends))
    roles: list[RoleRow] = []
    role_rows = [
        (state, status)
        for state, status in _role_states(resource, obj, desired, lapsed)
        if state is not None
    ]
    for state, status in role_rows:
        role = handler.role(identity, state, admin)
        if role is None:
            continue
        roles.append(
            RoleRow(
                provider=alias,
                kind=kind,
                object=address,
                object_label=identity[-1] if identity else address,
                scope=role.scope,
                permissions=role.permissions,
                privileged=role.privileged,
                status=status,
                source=LIVE if status == "live-only" else source,
            )
        )
    return rows, roles


def _same(a: Grant, b: Grant) -> bool:
    return (a.access, a.detail, a.privileged) == (b.access, b.detail, b.privileged)


def _declared_state(
    handler: KindHandler[Any], resource: Resource | None, obj: LiveObject | None
) -> State | None:
    """What the declaration grants: its managed fields over the live ones it leaves out,
    the share list exactly as declared (an additive list's other live members are not
    declared; a list left out declares no member)."""
    if resource is None:
        return None
    field = handler.SPEC.members_field
    state: State = {**(obj.state if obj is not None else {}), **resource.desired}
    if field is not None and field not in resource.desired:
        state[field] = {}
    return state


def _role_states(
    resource: Resource | None, obj: LiveObject | None, desired: State | None, lapsed: bool
) -> list[tuple[State | None, Status]]:
    if obj is None:
        return [] if lapsed else [(desired, "declared-only")]
    if resource is None:
        return [(obj.state, "live-only")]
    if lapsed:
        return [(obj.state, "expired")]
    assert desired is not None
    if all(obj.state.get(k) == v for k, v in resource.desired.items()):
        return [(desired, "in-sync")]
    return [(obj.state, "live-only"), (desired, "declared-only")]
