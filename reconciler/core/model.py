"""Resources, changes and the plan: plain values passed between engine, providers and renderers."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

State = dict[str, Any]
"""A normalised object state: JSON values only; sets as sorted lists; share lists as
dicts keyed by member identity (see KindSpec.members_field)."""


@dataclass(frozen=True)
class Finding:
    """One rule a change trips; `reason` is the document's `metadata.allow` for it."""

    rule: str
    message: str
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        return self.reason is not None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "message": self.message}
        if self.reason is not None:
            out.update(allowed=True, reason=self.reason)
        return out


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


@functools.lru_cache(maxsize=1024)
def address_glob(pattern: str) -> re.Pattern[str]:
    """An address glob (`settings.ignore`, `settings.protect`): `*` any run of characters,
    `?` one; every other character, `[` included, stands for itself. Cached: a plan matches
    every pattern against every change's address."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


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


@dataclass(frozen=True)
class Expiry:
    """When a grant ends (`expires:`), and where the manifest says so: never sent to an
    API and never compared, so it stays out of the normalised state (see expiry.py)."""

    when: datetime
    source: Source


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
    expires: Expiry | None = None
    """When the whole object's grant ends (a Golem share, a Klipfolio role)."""
    member_expires: dict[str, Expiry] = field(default_factory=dict)
    """When each share-list member's grant ends, by member key."""
    allows: dict[str, str] = field(default_factory=dict)
    """`metadata.allow`: guard rule -> the reason the document gives for allowing it."""

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
    title: str = ""
    """The object's own name where the read gave it (a BitSight folder's), for output only."""


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
    cause: str | None = None
    """`--base`: "pr" (the pull request changes it) or "drift" (live left the base)."""


@dataclass(frozen=True)
class MemberChange:
    action: str  # "add" | "change" | "remove"
    key: str
    before: Any
    after: Any
    expires: str | None = None
    """The member's expiry as shown (`clock.show`), when the manifest gives one."""
    reason: str | None = None
    """Why a removal happens when it is not the manifest's list: "expired"."""
    cause: str | None = None
    """`--base`: "pr" or "drift", as for `FieldChange.cause`."""


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
    expires: str | None = None
    """The object's expiry as shown (`clock.show`), when the manifest gives one."""
    reason: str | None = None
    """Why a delete happens when it is not prune: "expired" (re-checked by a saved plan)."""
    allows: dict[str, str] = field(default_factory=dict)
    """The document's `metadata.allow` (rule -> reason); a saved plan records it."""
    guards: list[Finding] = field(default_factory=list)
    """The guards this change trips (guards.py), each marked allowed or not."""
    cause: str | None = None
    """`--base`: "pr" when the pull request causes any of it, "drift" when all of it
    reverts live state to the base documents; None for a full plan."""

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
class Unmanaged:
    """A live object read in a declared scope that no manifest declares and that the plan
    does not delete (prune is off for its kind, or it is protected): drift reports it."""

    provider: str
    kind: str
    live: LiveObject
    protected: bool = False
    """Prune would never delete it (e.g. a role the vendor's `protected_roles` setting names)."""

    @property
    def identity(self) -> tuple[str, ...]:
        return self.live.identity

    @property
    def address(self) -> str:
        return address_of(self.provider, self.kind, self.live.identity)


@dataclass(frozen=True)
class Ignored:
    """A difference left out of the plan by an active `settings.ignore` entry (docs/governance.md):
    never written and not drift; listed so that it stays visible."""

    address: str
    what: str
    """What was left out: `object (update)`, `member KEY (remove)`, `field NAME`..."""
    owner: str
    reason: str
    until: str
    """The entry's `until`, as shown (`clock.show`)."""
    source: str = ""
    """file:line:column of the ignore entry in the config."""


@dataclass
class Governance:
    """What a reviewer sees first (reconciler/input/policy/): the policy in force (`policy`:
    `{path, sha256}`, None for no policy) and everything the run's settings make looser
    than the built-in defaults; `risks`: each change that trips a guard, grants a
    privilege, opens an object to everyone or removes a manager. Items are JSON records
    (the plan file's `governance` object), shown as they are by every renderer."""

    policy: dict[str, str] | None = None
    settings: list[dict[str, Any]] = field(default_factory=list)
    ignores: list[dict[str, Any]] = field(default_factory=list)
    allows: list[dict[str, Any]] = field(default_factory=list)
    providers: list[dict[str, Any]] = field(default_factory=list)
    risks: list[dict[str, Any]] = field(default_factory=list)
    loosened: list[dict[str, Any]] = field(default_factory=list)
    """`--base`: what the head config loosens compared with the base revision's."""
    recorded: bool = True
    """False for a saved plan older than the governance block: nothing was recorded."""


@dataclass(frozen=True)
class Partial:
    """A `--base` plan: it read only what changed since `ref` (engine/partial.py)."""

    ref: str
    """The revision as the user gave it (`origin/main`)."""
    commit: str
    unread: int
    """Declared objects left unread: their documents are the same at `ref`."""
    removed: tuple[str, ...] = ()
    """Addresses whose documents the pull request removed."""


@dataclass
class Plan:
    """The changes, sorted by address, and what they were computed from."""

    changes: list[Change]
    providers: list[ProviderInfo]
    digest: str
    existing: dict[tuple[str, str], int] = field(default_factory=dict)
    """Live items read per (provider, kind): the base of the safety thresholds."""
    in_sync: int = 0
    unmanaged: list[Unmanaged] = field(default_factory=list)
    """Undeclared live objects in declared scopes (drift only; never written)."""
    targeted: tuple[int, int] | None = None
    """For a `--target` run: (objects targeted, objects in the workspace)."""
    ignored: list[Ignored] = field(default_factory=list)
    """Differences active drift ignores left out (`settings.ignore`; see ignores.py)."""
    protected: list[str] = field(default_factory=list)
    """Addresses of live objects protection kept: undeclared ones `settings.protect` kept
    from prune, and protected ones whose `expires:` has passed (never deleted for it)."""
    protected_expired: dict[str, str] = field(default_factory=dict)
    """Of those, the ones kept although expired: address -> the expiry, as shown."""
    governance: Governance | None = None
    """The governance block every plan begins with (None: not computed, as in a test's
    hand-made plan)."""
    partial: Partial | None = None
    """Set for a `--base` plan: what it compared with and left unread."""

    def __post_init__(self) -> None:
        self.changes.sort(key=lambda c: c.address)
        self.unmanaged.sort(key=lambda u: u.address)

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
    REFUSED = "refused"
    """Not written: a guard it trips is not allowed (per object: docs/governance.md)."""


@dataclass
class Result:
    change: Change
    outcome: Outcome
    message: str = ""
    rules: tuple[str, ...] = ()
    """For a refused change, the guard rules that refused it."""


@dataclass(frozen=True)
class Refusals:
    """What apply would refuse of a plan (`workflow.would_refuse`): plan's policy check and
    both forms of apply read this one value, so they cannot disagree."""

    guards: dict[str, tuple[Finding, ...]]
    """Address -> the guard findings no document allows: that change is not written
    (per object; `--force` writes it)."""
    protected: dict[str, str]
    """Address -> why protection forbids the change: never written, `--force` or not."""
    safety: tuple[str, ...]
    """Safety thresholds the plan exceeds: the whole plan is refused (`--force` overrides)."""
    total: int
    """Changes in the plan."""

    @property
    def count(self) -> int:
        """Changes apply would not write: all of them when a safety threshold is exceeded."""
        if self.safety:
            return self.total
        return len(set(self.guards) | set(self.protected))

    def __bool__(self) -> bool:
        return bool(self.guards or self.protected or self.safety)

    def parts(self) -> list[tuple[str, str]]:
        """(`guards` | `protected` | `safety`, what) for the summary line, what trips first."""
        out = []
        if self.guards:
            rules: dict[str, int] = {}
            for found in self.guards.values():
                for f in found:
                    rules[f.rule] = rules.get(f.rule, 0) + 1
            out.append(("guards", ", ".join(f"{r} {n}" for r, n in sorted(rules.items()))))
        if self.protected:
            out.append(("protected", ", ".join(sorted(self.protected))))
        if self.safety:
            out.append(("safety", "; ".join(self.safety)))
        return out
