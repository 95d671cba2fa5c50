"""The access report's data (docs/access.md): one `Row` per grant, `RoleRow`s apart, a `Report`.

Vendor-neutral: the vendor modules (or the `access` command) turn their live and desired
state into these rows; the renderers (`reconciler.access.render`) only read them.

- A `Row` is one grant: a principal (`email:jane@acme.com`) reaches an object (an address)
  with an access level, and the row says whether live and declared state agree.
- A `RoleRow` is an object whose content is a permission set rather than a principal: a
  Klipfolio role, say. Roles are listed apart, with the permissions a guard would treat as
  privileged.
- A `Report` holds both, the time it describes (`at`), when it was made, and where from
  (the workspace's paths and its Git commit); its summary is computed from the rows, so
  it cannot disagree with them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal, cast

from reconciler.core import clock

FORMAT_VERSION = 1
"""`format_version` of the JSON document; bump when a key changes meaning or goes away."""

Access = Literal["view", "edit", "manage", "grant"]
Status = Literal["in-sync", "live-only", "declared-only", "expired"]
By = Literal["principal", "person", "object"]

ACCESS: tuple[Access, ...] = ("view", "edit", "manage", "grant")
"""`view`, `edit`, `manage` rank a share's level; `grant` is a Golem permission share, whose
grant strings are opaque: the strings themselves are the
row's `detail`."""
STATUSES: tuple[Status, ...] = ("in-sync", "live-only", "declared-only", "expired")
DRIFTED: frozenset[str] = frozenset({"live-only", "expired"})
"""Statuses that mean live state differs from the manifests in a way that grants too much:
`--detailed-exitcode` exits 2 when any row has one."""
BY: tuple[By, ...] = ("principal", "person", "object")
EXPIRING_WITHIN = timedelta(days=14)
"""A row is marked expiring when its expiry falls within this window after `at`."""
LIVE = "live"
"""`source` of a row found only in live state."""

COLUMNS: tuple[str, ...] = (
    "principal",
    "principal_label",
    "person",
    "provider",
    "kind",
    "object",
    "object_label",
    "access",
    "detail",
    "status",
    "expires",
    "privileged",
    "source",
)
"""The row columns in docs/access.md order: the CSV header and the JSON keys of a row."""

ROLE_COLUMNS: tuple[str, ...] = (
    "provider",
    "kind",
    "object",
    "object_label",
    "scope",
    "permissions",
    "privileged",
    "status",
    "source",
)


@dataclass(frozen=True)
class Row:
    """One grant: `principal` reaches `object` with `access`."""

    principal: str
    """Stable key: `klipfolio-group:<id>`, `email:<address>`, `golem-account:<uuid>`,
    `salesforce-<share_type>:<id>`, `salesforce-<share_type>` (org-wide)."""
    principal_label: str
    """What a person reads: a group name, an email, a user's name; may equal `principal`."""
    person: str | None
    """The `Person` document's name that claims the principal, or None."""
    provider: str
    """The provider alias from reconciler.yaml."""
    kind: str
    """The manifest kind the grant is declared in (`KlipfolioClientShareRights`)."""
    object: str
    """The address of the object reached (`provider/Kind/identity`)."""
    object_label: str
    """The object's name as a person reads it."""
    access: Access
    """`view`, `edit`, `manage`, or `grant` (a Golem share: see `detail`)."""
    detail: str
    """Vendor words that say more (the Golem grant strings, BitSight flags); may be empty."""
    status: Status
    expires: str | None
    """The declared expiry as `clock.show` writes it (`2027-01-31` or RFC 3339 in UTC)."""
    privileged: bool
    """True where a guard would treat the grant as manager, everyone or admin."""
    source: str
    """`file:line` of the declaration, or `live`."""

    def __post_init__(self) -> None:
        if self.access not in ACCESS:
            raise ValueError(f"access {self.access!r} is not one of {', '.join(ACCESS)}")
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")

    @property
    def drifted(self) -> bool:
        return self.status in DRIFTED

    def expires_at(self) -> datetime | None:
        return None if self.expires is None else clock.parse_when(self.expires)

    def expiring(self, at: datetime) -> bool:
        """The expiry falls in [at, at + 14 days)."""
        when = self.expires_at()
        return when is not None and at <= when < at + EXPIRING_WITHIN

    def marks(self, at: datetime) -> list[str]:
        """What the renderers mark: `privileged`, `expiring` (within 14 days of `at`),
        `drift` (live-only or expired)."""
        marks = []
        if self.privileged:
            marks.append("privileged")
        if self.expiring(at):
            marks.append("expiring")
        if self.drifted:
            marks.append("drift")
        return marks

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of the row, keys in `COLUMNS` order (every value is a scalar)."""
        return {name: getattr(self, name) for name in COLUMNS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Row:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class RoleRow:
    """An object whose content is a permission set (a Klipfolio role), listed apart."""

    provider: str
    kind: str
    object: str
    """The role's address."""
    object_label: str
    """The role's name."""
    scope: str
    """Where the role applies, as a person reads it (`company`, a client account)."""
    permissions: tuple[str, ...]
    """Every permission of the role, sorted."""
    privileged: tuple[str, ...]
    """The permissions among them a guard treats as privileged (admin, manage)."""
    status: Status
    source: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        object.__setattr__(self, "permissions", tuple(self.permissions))
        object.__setattr__(self, "privileged", tuple(self.privileged))

    @property
    def drifted(self) -> bool:
        return self.status in DRIFTED

    def marks(self) -> list[str]:
        """What the renderers mark: `privileged` (any privileged permission), `drift`."""
        return (["privileged"] if self.privileged else []) + (["drift"] if self.drifted else [])

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["permissions"] = list(self.permissions)
        data["privileged"] = list(self.privileged)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoleRow:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class Summary:
    """Counts over a report's rows (roles are counted, not split)."""

    rows: int
    roles: int
    by_status: dict[str, int]
    """Every status, zero included, in `STATUSES` order."""
    by_provider: dict[str, int]
    """Per provider alias, sorted."""
    privileged: int
    expiring: int
    """Rows expiring within 14 days of `at`."""
    drifted: int
    """Rows `live-only` or `expired`."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """Who can reach what at `at`."""

    at: str
    """The time the report describes (`--at`, else now), as `clock.show` writes it."""
    generated_at: str
    """When the report was made (RFC 3339, UTC)."""
    rows: tuple[Row, ...]
    roles: tuple[RoleRow, ...] = ()
    workspace: tuple[str, ...] = ()
    """The PATHs the report was made from, as given."""
    commit: str | None = None
    """The Git commit checked out there (`reconciler.access.origin`), or None."""
    format_version: int = field(default=FORMAT_VERSION)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "roles", tuple(self.roles))
        object.__setattr__(self, "workspace", tuple(self.workspace))

    @classmethod
    def build(
        cls,
        rows: Iterable[Row],
        roles: Iterable[RoleRow] = (),
        *,
        at: datetime | None = None,
        generated_at: datetime | None = None,
        workspace: Iterable[str] = (),
        commit: str | None = None,
    ) -> Report:
        """A report with rows and roles in a stable order; times default to `clock.now()`."""
        when = at if at is not None else clock.now()
        made = generated_at if generated_at is not None else clock.now()
        return cls(
            at=clock.show(when),
            generated_at=clock.show(made),
            rows=tuple(sorted(rows, key=_row_key)),
            roles=tuple(sorted(roles, key=lambda r: (r.provider, r.object, r.source))),
            workspace=tuple(workspace),
            commit=commit,
        )

    @cached_property
    def at_time(self) -> datetime:
        return clock.parse_when(self.at)

    @cached_property
    def summary(self) -> Summary:
        statuses = Counter(r.status for r in self.rows)
        at = self.at_time
        return Summary(
            rows=len(self.rows),
            roles=len(self.roles),
            by_status={s: statuses.get(s, 0) for s in STATUSES},
            by_provider=dict(sorted(Counter(r.provider for r in self.rows).items())),
            privileged=sum(r.privileged for r in self.rows),
            expiring=sum(r.expiring(at) for r in self.rows),
            drifted=sum(r.drifted for r in self.rows),
        )

    @property
    def drifted(self) -> bool:
        """Any row `live-only` or `expired` (role drift counts too)."""
        return any(r.drifted for r in self.rows) or any(r.drifted for r in self.roles)

    def exit_code(self, detailed: bool) -> int:
        """0; with `--detailed-exitcode`, 2 when the report shows drift."""
        return 2 if detailed and self.drifted else 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON document (schemas/access.schema.json)."""
        return {
            "format_version": self.format_version,
            "generated_at": self.generated_at,
            "at": self.at,
            "workspace": list(self.workspace),
            "commit": self.commit,
            "rows": [r.as_dict() for r in self.rows],
            "roles": [r.as_dict() for r in self.roles],
            "summary": self.summary.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """The report a JSON document describes (its summary is recomputed)."""
        return cls(
            at=str(data["at"]),
            generated_at=str(data["generated_at"]),
            rows=tuple(Row.from_dict(r) for r in cast(list[Any], data["rows"])),
            roles=tuple(RoleRow.from_dict(r) for r in cast(list[Any], data.get("roles", []))),
            workspace=tuple(str(p) for p in cast(list[Any], data.get("workspace", []))),
            commit=None if data.get("commit") is None else str(data["commit"]),
            format_version=int(data["format_version"]),
        )


def _row_key(row: Row) -> tuple[str, ...]:
    return (row.provider, row.object, row.principal, row.access, row.source)


def group_key(row: Row, by: By) -> str:
    """The group a row falls in for `--by`."""
    if by == "principal":
        return row.principal
    if by == "person":
        return row.person or ""
    if by == "object":
        return row.object
    raise ValueError(f"--by {by!r} is not one of {', '.join(BY)}")
