"""Resources, changes and the plan: plain values passed between engine, providers and renderers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

State = dict[str, Any]
"""A normalised object state: JSON values only; sets as sorted lists; share lists as
dicts keyed by member identity (see KindSpec.members_field)."""


@dataclass(frozen=True)
class KindSpec:
    """What the engine needs to know about a kind; the provider supplies the rest."""

    name: str
    identity: tuple[str, ...]
    """Spec fields that make up the identity, in address order; absent ones are left out."""
    members_field: str | None = None
    """The share-list field (a dict keyed by member id) for kinds whose list is reconciled
    member by member; None for plain objects."""
    replace_fields: tuple[str, ...] = ()
    """Fields the API cannot change in place: a difference plans a replace."""
    prune_key: str | None = None
    """The `prune:` word that lets undeclared live objects of this kind be deleted."""
    revisioned: bool = False
    """Writes carry the plan's revision (the API refuses a stale one): no re-read before them."""


def address_of(provider: str, kind: str, identity: tuple[str, ...]) -> str:
    parts = [p.replace("%", "%25").replace("/", "%2F") for p in identity if p]
    return "/".join([provider, kind, *parts])


def fingerprint(state: State | None, fields: list[str] | None = None) -> str | None:
    """Hash of the managed, normalised fields of a live state; None for an absent object."""
    if state is None:
        return None
    picked = state if fields is None else {k: state.get(k) for k in fields}
    blob = json.dumps(picked, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Source:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class Resource:
    """A desired object, as declared in a manifest (after normalisation)."""

    kind: str
    provider: str
    identity: tuple[str, ...]
    desired: State
    source: Source
    members_mode: str = "authoritative"
    scope: str = ""
    """The API scope the object lives in (client id, owner account); reads group by it."""
    labels: dict[str, str] = field(default_factory=dict)
    """Human names of members, where the manifest named them (output only)."""

    @property
    def address(self) -> str:
        return address_of(self.provider, self.kind, self.identity)


@dataclass
class LiveObject:
    """One object as read from a vendor, normalised like a desired state."""

    identity: tuple[str, ...]
    state: State
    handle: dict[str, Any] = field(default_factory=dict)
    """Vendor ids the writes need (role id, share ids per member); never compared."""
    revision: int | None = None
    scope: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    """Human names of share-list members (a group's name for its id), for output only."""


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+", Action.DELETE: "-"}


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class MemberChange:
    action: str  # "add" | "change" | "remove"
    key: str
    before: Any
    after: Any


@dataclass
class Change:
    """One object to change, with the live state it was computed from."""

    action: Action
    kind: str
    provider: str
    identity: tuple[str, ...]
    desired: State | None
    """Full state to write (members already merged for `additive`); None for a delete."""
    live: LiveObject | None
    managed: list[str]
    """Fields the fingerprint covers."""
    fields: list[FieldChange] = field(default_factory=list)
    members: list[MemberChange] = field(default_factory=list)
    scope: str = ""
    source: Source | None = None
    labels: dict[str, str] = field(default_factory=dict)
    """Human names of members, from the manifest and the live read (output only)."""

    @property
    def address(self) -> str:
        return address_of(self.provider, self.kind, self.identity)

    @property
    def revision(self) -> int | None:
        return self.live.revision if self.live else None

    @property
    def fingerprint(self) -> str | None:
        return fingerprint(self.live.state if self.live else None, self.managed)


@dataclass
class ProviderInfo:
    alias: str
    type: str
    base_url: str
    credential_env: str
    options: dict[str, Any] = field(default_factory=dict)
    """The vendor's own settings at plan time, for the record (apply uses the config's)."""


@dataclass
class Plan:
    """The changes, sorted by address, and what they were computed from."""

    changes: list[Change]
    providers: list[ProviderInfo]
    digest: str
    existing: dict[tuple[str, str], int] = field(default_factory=dict)
    """Live items read per (provider, kind): the base of the safety thresholds."""
    in_sync: int = 0

    def __post_init__(self) -> None:
        self.changes.sort(key=lambda c: c.address)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    @property
    def empty(self) -> bool:
        return not self.changes


class Outcome(StrEnum):
    APPLIED = "applied"
    CONFLICT = "conflict"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Result:
    change: Change
    outcome: Outcome
    message: str = ""
