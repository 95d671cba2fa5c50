"""The provider contract: what a vendor supplies, and nothing the engine owns."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Any, ClassVar, TypeVar

from reconciler.core import clock
from reconciler.core.errors import Problem, ProviderError
from reconciler.core.ids import BadId, IdFormat, path_id
from reconciler.core.model import Change, Expiry, KindSpec, LiveObject, Resource, State
from reconciler.core.settings import ProviderConfig, VendorDefaults
from reconciler.plugin.answers import MALFORMED, malformed
from reconciler.plugin.handlers import (
    NOTE,
    Export,
    Grant,
    GrantAccess,
    GuardFacts,
    KindHandler,
    KindIO,
    MemberListHandler,
    OfflineChecks,
    ReportFacts,
    RoleGrant,
)
from reconciler.plugin.http import Http, Limits, Response, json_or_none, register_secret

__all__ = [
    "NOTE",
    "Export",
    "Grant",
    "GrantAccess",
    "GuardFacts",
    "KindHandler",
    "KindIO",
    "MemberListHandler",
    "OfflineChecks",
    "Provider",
    "ReportFacts",
    "RoleGrant",
    "lapsed",
    "option",
]

T = TypeVar("T")


class Provider:
    """A vendor's API, seen through the few hooks the engine calls.

    A vendor subclass sets `TYPE`, `DEFAULTS`, `ID_FORMAT` and `HANDLERS` (one
    `KindHandler` per kind) and the wiring hooks (`auth_headers`, `parse_error`, maybe
    `api_base`); `KINDS` is derived from the handlers. The engine groups resources by
    provider and kind and calls, in order: `normalise` (offline, per document), `resolve`
    (names to ids, once per plan), `read` (all live objects the resources name, plus
    whole scopes when pruning), then per change `read_one` (the pre-write re-read of
    non-revisioned kinds) and `write`; each goes to the kind's handler. A provider never
    diffs, orders, retries, limits or renders: the engine and `Http` do.
    """

    TYPE: ClassVar[str]
    DEFAULTS: ClassVar[VendorDefaults]
    ID_FORMAT: ClassVar[IdFormat]
    """The format of the vendor's ids: checked before any id goes into a URL path."""
    HANDLERS: ClassVar[Iterable[KindHandler[Any]]] = ()
    KINDS: ClassVar[dict[str, KindSpec]] = {}
    handlers: ClassVar[dict[str, KindHandler[Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers = {h.SPEC.name: h for h in cls.HANDLERS}
        for name, h in handlers.items():
            if h.SPEC.members_field and not isinstance(h, MemberListHandler):
                raise TypeError(f"{cls.__name__}: {name} has a share list: use MemberListHandler")
        cls.handlers = handlers
        cls.KINDS = {name: h.SPEC for name, h in handlers.items()}

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
            fatal=self.fatal,
            exhausted=self.exhausted,
            rate_limit_wait=self.DEFAULTS.rate_limit_wait,
        )

    # -- wiring --------------------------------------------------------------------

    @classmethod
    def api_base(cls, config: ProviderConfig) -> str:
        return config.base_url

    def auth_headers(self, credential: str) -> dict[str, str]:
        return {}

    def parse_error(self, response: Response) -> tuple[str | None, str]:
        return None, f"HTTP {response.status_code}"

    def fatal(self, response: Response) -> ProviderError | None:
        """The error a vendor-specific answer means instead of the generic rules, or None.

        Sees every answer before retries and the generic handling in `Http`. Return a
        `ProviderStopped` (or `AuthError`) to stop this provider for the rest of the run,
        any other `ProviderError` to fail only this call; never retried."""
        return None

    def exhausted(self, response: Response) -> ProviderError | None:
        """The error a 429 still answered after the last try means, or None (the default):
        only that request's object fails.

        For a vendor whose quota answers 429 as its rate limit does: return a
        `ProviderStopped` to stop this provider for the rest of the run."""
        return None

    async def close(self) -> None:
        await self.http.close()

    def option(self, name: str) -> Any:
        """A vendor setting (the vendor's config fragment), else the vendor's default."""
        return option(self.config, self.DEFAULTS, name)

    def path_id(self, value: object, what: str = "id") -> str:
        """`value` checked against this vendor's id format and percent-encoded, ready for a
        URL path; an id that does not fit (from a manifest or an API answer) stops the call
        before anything is sent."""
        try:
            return path_id(self.ID_FORMAT, value, what)
        except BadId as exc:
            raise ProviderError(self.alias, f"{exc}; not sent") from None

    async def get_object(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        refused: str = "response is not a JSON object",
    ) -> dict[str, Any] | None:
        """`GET path` for one object: its JSON object, or None when the API answers 404.
        Any other shape stops with `GET path: <refused>`."""
        response = await self.http.request("GET", path, params=params, accept=(404,))
        if response.status_code == 404:
            return None
        body = json_or_none(response)
        if not isinstance(body, dict):
            raise ProviderError(self.alias, f"GET {path}: {refused}")
        return body

    # -- the engine's hooks, each handed to the kind's handler -----------------------------

    @classmethod
    def identity(cls, kind: str, spec: dict[str, Any]) -> tuple[str, ...]:
        return cls.handlers[kind].identity(spec)

    @classmethod
    def canonical_identity(cls, kind: str, parts: tuple[str, ...]) -> tuple[str, ...]:
        """The identity an address's parts name, spelled as validation spells it (e.g. a
        vendor's short id as its long form), for `--target`.

        The default puts the parts back into a spec (absent leading parts, such as
        the parent id of a company-wide object, left empty) and asks the kind's `identity`;
        parts that do not fit are returned unchanged. A vendor may override it."""
        fields = cls.KINDS[kind].identity
        if len(parts) > len(fields):
            return parts
        padded = ("",) * (len(fields) - len(parts)) + tuple(parts)
        try:
            return cls.identity(kind, dict(zip(fields, padded, strict=True)))
        except Exception:  # noqa: BLE001 - a target that is no identity matches nothing
            return parts

    @classmethod
    def scope(cls, kind: str, spec: dict[str, Any]) -> str:
        return cls.handlers[kind].scope(spec)

    @classmethod
    def normalise(cls, kind: str, spec: dict[str, Any]) -> State:
        return cls.handlers[kind].normalise(spec)

    @classmethod
    def member_key(cls, kind: str, member: dict[str, Any]) -> str:
        handler = cls.handlers[kind]
        assert isinstance(handler, MemberListHandler)
        return handler.member_key(member)

    @classmethod
    def check(
        cls, kind: str, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> list[tuple[tuple[Any, ...], str]]:
        return cls.handlers[kind].check(spec, path)

    def may_prune(self, kind: str, live: LiveObject) -> bool:
        return self.handlers[kind].may_prune(self, live)

    async def resolve(self, kind: str, resources: list[Resource]) -> list[Problem]:
        return await self._reading(self.handlers[kind].resolve(self, resources))

    async def resolve_claims(self, kind: str, keys: set[str]) -> dict[str, list[str]]:
        return await self._reading(self.handlers[kind].resolve_claims(self, keys))

    async def read(self, kind: str, resources: list[Resource], prune: bool) -> list[LiveObject]:
        return await self._reading(self.handlers[kind].read(self, resources, prune))

    async def read_report(
        self, kind: str, resources: list[Resource], live: list[LiveObject], whole: bool
    ) -> list[LiveObject]:
        return await self._reading(self.handlers[kind].read_report(self, resources, live, whole))

    async def read_one(self, change: Change) -> LiveObject | None:
        return await self._reading(self.handlers[change.kind].read_one(self, change))

    async def write(self, change: Change, current: LiveObject | None) -> None:
        await self.handlers[change.kind].write(self, change, current)

    async def scopes(self, kind: str) -> list[str]:
        return await self._reading(self.handlers[kind].scopes(self))

    async def export(self, kind: str, scopes: list[str]) -> list[dict[str, Any]]:
        return await self._reading(self.handlers[kind].export(self, scopes))

    async def _reading(self, call: Awaitable[T]) -> T:
        # The backstop for answers whose shape a handler did not check where it read them:
        # a wrong-typed field raised while reading is the vendor's error (exit 1), not ours.
        try:
            return await call
        except MALFORMED as exc:
            raise malformed(self.alias, f"the {self.TYPE} API", exc) from None


def lapsed(expires: Expiry | None) -> bool:
    """Whether an `expires:` has passed (at `clock.now()`): the rule governance applies, for
    a vendor that must not prepare a write for an object the plan will not create."""
    return expires is not None and expires.when <= clock.now()


def option(config: ProviderConfig, defaults: VendorDefaults, name: str) -> Any:
    """A vendor setting of `config`, else the vendor's default for it."""
    return config.options.get(name, defaults.options.get(name))
