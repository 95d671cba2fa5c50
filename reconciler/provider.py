"""The provider contract: what a vendor module supplies, and nothing the engine owns."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from reconciler.answers import MALFORMED, malformed
from reconciler.config import ProviderConfig, VendorDefaults
from reconciler.errors import Problem, ProviderError
from reconciler.http import Http, Limits, register_secret
from reconciler.ids import BadId, path_id
from reconciler.model import Change, KindSpec, LiveObject, Resource, State


class Provider:
    """A vendor's API, seen through the few hooks the engine calls.

    The engine groups resources by provider and kind and calls, in order:
    `normalise` (offline, per document), `resolve` (names to ids, once per plan),
    `read` (all live objects the resources name, plus whole scopes when pruning),
    then per change `read_one` (the pre-write re-read of non-revisioned kinds) and
    `write`. A provider never diffs, orders, retries, limits or renders: the engine
    and `Http` do. States are JSON values: sets as sorted lists, share lists as
    dicts keyed by `member_key`, identity fields left out.
    """

    TYPE: ClassVar[str]
    DEFAULTS: ClassVar[VendorDefaults]
    KINDS: ClassVar[dict[str, KindSpec]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The backstop for answers whose shape a provider did not check where it read them:
        # a wrong-typed field raised while reading is the vendor's error (exit 1), not ours.
        for name in _READS:
            if name in cls.__dict__:
                setattr(cls, name, _backstop(cls.__dict__[name]))

    def __init__(self, config: ProviderConfig, credential: str, limits: Limits) -> None:
        self.config = config
        self.alias = config.alias
        register_secret(credential)
        self.http = Http(
            config.alias,
            self.api_base(config),
            self.auth_headers(credential),
            limits,
            self.parse_error,
            config.credential_env,
            rate_limit_per_second=config.rate_limit_per_second,
            max_concurrency=config.max_concurrency,
        )

    # -- wiring --------------------------------------------------------------------

    @classmethod
    def api_base(cls, config: ProviderConfig) -> str:
        return config.base_url

    def auth_headers(self, credential: str) -> dict[str, str]:
        return {}

    def parse_error(self, response: httpx.Response) -> tuple[str | None, str]:
        return None, f"HTTP {response.status_code}"

    async def close(self) -> None:
        await self.http.close()

    def path_id(self, value: object, what: str = "id") -> str:
        """`value` checked against this vendor's id format and percent-encoded, ready for a
        URL path; an id that does not fit (from a manifest or an API answer) stops the call
        before anything is sent."""
        try:
            return path_id(self.TYPE, value, what)
        except BadId as exc:
            raise ProviderError(self.alias, f"{exc}; not sent") from None

    # -- offline ---------------------------------------------------------------------

    @classmethod
    def identity(cls, kind: str, spec: dict[str, Any]) -> tuple[str, ...]:
        """The identity parts of a spec, in address order ("" for an absent part)."""
        return tuple(str(spec.get(f) or "") for f in cls.KINDS[kind].identity)

    @classmethod
    def scope(cls, kind: str, spec: dict[str, Any]) -> str:
        """The API scope a document's object lives in; reads are grouped by it."""
        return ""

    @classmethod
    def normalise(cls, kind: str, spec: dict[str, Any]) -> State:
        """The managed fields of a spec, normalised; fields left out are absent."""
        raise NotImplementedError

    @classmethod
    def member_key(cls, kind: str, member: dict[str, Any]) -> str:
        """The identity of one share-list member (for duplicate checks and the state keys)."""
        raise NotImplementedError

    @classmethod
    def check(
        cls, kind: str, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> list[tuple[tuple[Any, ...], str]]:
        """Extra offline rules the schema cannot say: (path, message) pairs."""
        return []

    # -- online ----------------------------------------------------------------------

    async def resolve(self, kind: str, resources: list[Resource]) -> list[Problem]:
        """Turn names into ids in desired states before anything is compared."""
        return []

    async def read(self, kind: str, resources: list[Resource], prune: bool) -> list[LiveObject]:
        """Live objects for the resources (absent ones left out); with `prune`, every live
        object in the scopes the resources name."""
        raise NotImplementedError

    async def read_one(self, change: Change) -> LiveObject | None:
        """One object read again just before it is written; None when it is absent."""
        raise NotImplementedError

    async def write(self, change: Change, current: LiveObject | None) -> None:
        """Carry out one change. `current` is the pre-write read (None for revisioned kinds
        and for creates). Grants go before removals."""
        raise NotImplementedError

    def may_prune(self, kind: str, live: LiveObject) -> bool:
        return True

    async def scopes(self, kind: str) -> list[str]:
        """Every scope the API can list, for export; raise when it cannot list them."""
        return [""]

    async def export(self, kind: str, scopes: list[str]) -> list[dict[str, Any]]:
        """Specs for every live object of `kind` in `scopes`, ready to write as manifests."""
        raise NotImplementedError


_READS = ("resolve", "read", "read_one", "scopes", "export")


def _backstop(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def reading(self: Provider, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except MALFORMED as exc:
            raise malformed(self.alias, f"the {self.TYPE} API", exc) from None

    return reading
