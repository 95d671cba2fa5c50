"""Settings values: a vendor's defaults, a provider's config, the run's settings and its
drift ignores. Plain values; loading and checking them is reconciler/input/config.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.core import clock
from reconciler.core.model import Ignored, Source, address_glob

DEFAULT_SOURCE = "<defaults>"


@dataclass(frozen=True)
class VendorDefaults:
    """A vendor's defaults; the provider registry holds one per type."""

    base_url: str
    credential_env: str
    credential_key: str
    """The config key naming the env var (`api_key_env`, `token_env`): a property of the
    vendor's config fragment (`schemas/config.schema.json` in its folder)."""
    credential_prefixes: tuple[str, ...] = ()
    """The prefixes a credential variable's name must start with (`KLIPFOLIO_`), unless the
    operator lists it in RECONCILER_ALLOW_CREDENTIAL_ENV; none: only `credential_env`."""
    rate_limit_per_second: float = 0
    max_concurrency: int = 0
    rate_limit_wait: float = 0
    """Seconds to wait after a 429 that carries no `Retry-After`, when the vendor documents
    a wait of its own (BitSight: a minute); 0: the usual backoff."""
    vendor_hosts: tuple[str, ...] = ()
    """The vendor's API hosts, exact names (no wildcard: anyone can own a subdomain)."""
    required_base_url_env: str | None = None
    """Env var giving the base URL when the vendor has no default; its host is trusted."""
    api_paths: tuple[str, ...] = ("",)
    """The paths a base_url may have off loopback: the vendor's fixed API prefix, if any."""
    options: dict[str, Any] = field(default_factory=dict)
    """Defaults of the vendor's own settings (its config fragment): `protected_roles`..."""


@dataclass
class ProviderConfig:
    alias: str
    type: str
    base_url: str
    credential_env: str
    prune: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    """The vendor's own settings (its config fragment), its defaults filled in."""
    rate_limit_per_second: float = 0
    max_concurrency: int = 0
    source: tuple[str, int, int] = (DEFAULT_SOURCE, 1, 1)


@dataclass
class Safety:
    max_delete_percent: float = 30
    max_update_percent: float = 30
    min_existing: int = 10


@dataclass(frozen=True)
class GuardSettings:
    """`settings.guards` (docs/governance.md); the rules themselves are in guards.py."""

    disabled: tuple[str, ...] = ()
    admin_permissions: frozenset[str] | None = None
    """Replaces each vendor's default admin list; None keeps the defaults."""
    max_new_members: int = 25


@dataclass
class Config:
    providers: dict[str, ProviderConfig]
    parallelism: int = 10
    safety: Safety = field(default_factory=Safety)
    file: str | None = None
    raw: bytes = b""
    max_grant_days: int | None = None
    """`settings.max_grant_days`: no `expires:` may lie further ahead (None: no limit)."""
    guards: GuardSettings = field(default_factory=GuardSettings)
    protect: tuple[str, ...] = ()
    """`settings.protect`: address globs of undeclared live objects prune never deletes."""
    ignores: list[Ignore] = field(default_factory=list)
    """`settings.ignore`: drift ignores that expire (reconciler/governance/ignores.py)."""


@dataclass(frozen=True)
class Ignore:
    """One `settings.ignore` entry."""

    address: str
    """An address, or a glob over addresses (`*` any run of characters, `?` one)."""
    reason: str
    owner: str
    until: datetime
    source: Source
    member: str | None = None
    """Only this member's add, change or removal (its key as plans show it)."""
    fields: tuple[str, ...] = ()
    """Only these fields' changes; with `member`, only these attributes of that member."""

    @property
    def active(self) -> bool:
        return clock.now() < self.until

    def matches(self, address: str) -> bool:
        return address_glob(self.address).fullmatch(address) is not None

    def matches_member(self, key: str) -> bool:
        return self.member is not None and (
            key == self.member or key.casefold() == self.member.casefold()
        )

    @property
    def name(self) -> str:
        """How warnings name the entry: `ignore for ADDRESS (member KEY, fields A, B)`."""
        scope = []
        if self.member is not None:
            scope.append(f"member {self.member}")
        if self.fields:
            scope.append(f"field{'s' * (len(self.fields) != 1)} {', '.join(self.fields)}")
        return f"ignore for {self.address}" + (f" ({', '.join(scope)})" if scope else "")

    def entry(self, address: str, what: str) -> Ignored:
        return Ignored(
            address, what, self.owner, self.reason, clock.show(self.until), str(self.source)
        )
