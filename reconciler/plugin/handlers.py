"""The hooks of one kind, in groups: read and write (required), offline checks, guard facts,
report facts, export (optional, with defaults)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from reconciler.core.errors import Problem, ReconcilerError
from reconciler.core.model import Change, KindSpec, LiveObject, Resource, State

P = TypeVar("P")
"""The vendor's Provider subclass, as the online hooks receive it."""

NOTE = "#"
"""In an exported spec, the key `NOTE + field` holds a comment for `field` (a name beside
an id); `export` writes it as a YAML comment. None or empty: no comment."""


GrantAccess = Literal["view", "edit", "manage", "grant"]


@dataclass(frozen=True)
class Grant:
    """One principal's access to one object, as a kind's state gives it (the access report,
    docs/access.md). Vendor-made: the core only matches grants of desired and live states."""

    principal: str
    """Stable key: `klipfolio-group:<id>`, `email:<address>` (lower-cased),
    `golem-account:<uuid>`, `salesforce-<share_type>:<id>`, `salesforce-<share_type>`."""
    label: str
    """What a person reads (a group name, an email); may equal the key's value."""
    access: GrantAccess
    detail: str = ""
    """Vendor words that say more (the Golem grant strings, BitSight rights)."""
    privileged: bool = False
    """A guard would treat it as everyone or admin (a manager is also found by `managers`)."""
    member: str | None = None
    """The share-list member key it comes from (to match `managers` and expiries)."""
    names: tuple[str, ...] = ()
    """Other keys a `Person` may claim the principal by (`klipfolio-group:name:Finance`)."""


@dataclass(frozen=True)
class RoleGrant:
    """An object whose content is a permission set (a Klipfolio role), listed apart."""

    scope: str
    """Where it applies, as a person reads it (`company`, `client <id>`)."""
    permissions: tuple[str, ...]
    privileged: tuple[str, ...]
    """The permissions among them the `admin-permission` guard treats as admin-level."""


class KindIO(ABC, Generic[P]):
    """Required: what a kind is and how it is read and written. The four abstract hooks
    (`normalise`, `read`, `read_one`, `write`) are all a minimal vendor writes.

    Offline hooks (`identity`, `scope`, `normalise`) see only a spec; online hooks get the
    provider `p` (its `http`, its config) as their first argument, so one handler object
    serves every alias of its type. States are JSON values: sets as sorted lists, share
    lists as dicts keyed by `member_key`, identity fields left out.
    """

    SPEC: ClassVar[KindSpec]

    def identity(self, spec: dict[str, Any]) -> tuple[str, ...]:
        """The identity parts of a spec, in address order ("" for an absent part)."""
        return tuple(str(spec.get(f) or "") for f in self.SPEC.identity)

    def scope(self, spec: dict[str, Any]) -> str:
        """The API scope a document's object lives in; reads are grouped by it."""
        return ""

    @abstractmethod
    def normalise(self, spec: dict[str, Any]) -> State:
        """The managed fields of a spec, normalised; fields left out are absent."""

    async def resolve(self, p: P, resources: list[Resource]) -> list[Problem]:
        """Turn names into ids in desired states before anything is compared."""
        return []

    @abstractmethod
    async def read(self, p: P, resources: list[Resource], prune: bool) -> list[LiveObject]:
        """Live objects for the resources (absent ones left out); with `prune`, every live
        object in the scopes the resources name."""

    @abstractmethod
    async def read_one(self, p: P, change: Change) -> LiveObject | None:
        """One object read again just before it is written; None when it is absent."""

    @abstractmethod
    async def write(self, p: P, change: Change, current: LiveObject | None) -> None:
        """Carry out one change. `current` is the pre-write read (None for revisioned kinds
        and for creates). Grants go before removals. The one hook every write goes
        through: the engine calls `Provider.write`, which calls this."""

    def may_prune(self, p: P, live: LiveObject) -> bool:
        """False for an undeclared live object that must never be deleted or changed."""
        return True


class OfflineChecks:
    """Optional: rules on a spec the schema cannot say (`validate`, before any call)."""

    def check(
        self, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> list[tuple[tuple[Any, ...], str]]:
        """Extra offline rules the schema cannot say: (path, message) pairs."""
        return []

    def advise(
        self, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> list[tuple[tuple[Any, ...], str]]:
        """Offline notes on a valid spec, shown as `warning:` lines that never stop a run
        (a name the vendor may know that the tool's list lacks): (path, message) pairs."""
        return []


class GuardFacts:
    """Optional: what the kind's states mean for the privilege guards (docs/governance.md).
    The defaults say "no manager, never open, no admin permission": no guard trips."""

    SPEC: ClassVar[KindSpec]
    """`mass-grant` counts the members of `SPEC.members_field`."""
    MANAGER: ClassVar[str] = "manager"
    """What `managers` counts, as the `last-manager` message names it."""
    OPEN_LEVELS: ClassVar[tuple[str, ...]] = ("closed", "open")
    """Names of the levels `openness` returns (index = level), for the `everyone` message."""

    def managers(self, state: State) -> set[str] | None:
        """The members who can manage the object in `state` (`last-manager` trips when a
        change leaves none where there were some); None when the kind, or the object in
        that state (an unshared folder), has no notion of a manager."""
        return None

    def openness(self, state: State) -> dict[str, int]:
        """How far `state` opens the object to everyone: audience -> level (0 = closed,
        higher = wider; see OPEN_LEVELS). `everyone` trips when a level rises."""
        return {}

    def admin_grants(
        self, before: State | None, after: State, admin_permissions: frozenset[str] | None
    ) -> list[str]:
        """The admin-level permissions `after` gives that `before` (None: a create) lacked;
        `admin_permissions` None means the vendor's default list."""
        return []

    def admin_vocabulary(self) -> frozenset[str]:
        """The permission names `settings.guards.admin_permissions` may list for this kind."""
        return frozenset()


class ReportFacts(Generic[P]):
    """Optional: what a state grants to whom, for the access report (docs/access.md).
    The defaults grant nothing to anyone: the kind is left out of the report."""

    def grants(self, state: State, labels: Mapping[str, str]) -> list[Grant] | None:
        """Every grant `state` gives (`labels`: member key -> a name, from the manifest and
        the read); None when the kind grants nothing to principals (a role)."""
        return None

    def role(
        self, identity: tuple[str, ...], state: State, admin_permissions: frozenset[str] | None
    ) -> RoleGrant | None:
        """The permission set of a role-like object; None for every other kind."""
        return None

    def claims(self, person: Mapping[str, Any]) -> set[str]:
        """The principal keys (or `Grant.names`) a `Person` spec claims among this kind's
        principals: the same spelling `grants` gives them."""
        return set()

    async def read_report(
        self, p: P, resources: list[Resource], live: list[LiveObject], whole: bool
    ) -> list[LiveObject]:
        """The live objects the access report shows, from what `read` returned (`live`;
        `whole`: it read whole scopes): by default `live` itself. A kind reads here what
        plan needs not but a reviewer must see (an undeclared role's permissions, an
        object's name in `LiveObject.title`), so plan's own reads stay as they are."""
        return live

    async def resolve_claims(self, p: P, keys: set[str]) -> dict[str, list[str]]:
        """For each of `keys` (what `claims` gives) that names a principal of this kind by
        a name rather than an id, the principal keys that name resolves to now, read as
        `resolve` reads names (none: unknown; two or more: ambiguous); other keys left out."""
        return {}


class Export(Generic[P]):
    """Optional: live objects written out as manifests (`reconciler export`)."""

    SPEC: ClassVar[KindSpec]

    async def scopes(self, p: P) -> list[str]:
        """Every scope the API can list, for export; raise when it cannot list them."""
        return [""]

    async def export(self, p: P, scopes: list[str]) -> list[dict[str, Any]]:
        """Specs for every live object of the kind in `scopes`, ready to write as manifests.
        Any mapping in a spec may hold `NOTE + field` (e.g. `"#group_id": "Finance"`): a
        note for people, written as a YAML comment beside that field, never a field."""
        raise ReconcilerError(f"{self.SPEC.name} cannot be exported (its vendor has no export)")


class KindHandler(KindIO[P], OfflineChecks, GuardFacts, ReportFacts[P], Export[P]):
    """Everything a vendor knows about one kind: one handler object per kind.

    The hooks come in groups, each its own class with its own docstring: `KindIO`
    (required: `normalise`, `read`, `read_one`, `write`; `identity`, `scope`, `resolve`,
    `may_prune` have defaults), `OfflineChecks`, `GuardFacts`, `ReportFacts` and `Export`
    (all optional, with defaults that do nothing). A handler that leaves out a required hook
    cannot be instantiated, which mypy reports at the vendor's `HANDLERS` and Python at
    import time.
    """


class MemberListHandler(KindHandler[P]):
    """A kind whose share list (`SPEC.members_field`) is reconciled member by member."""

    @abstractmethod
    def member_key(self, member: dict[str, Any]) -> str:
        """The identity of one share-list member (for duplicate checks and the state keys)."""
