"""The vendors and their kinds: the packages under `reconciler/vendors/`, plus any
installed package whose `reconciler.vendors` entry point names a `Vendor` (its provider,
sandbox app, schemas and contract case, each loaded only when asked for). The core never
names a vendor.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from reconciler.core.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.core.model import KindSpec
    from reconciler.core.settings import VendorDefaults
    from reconciler.plugin.provider import Provider

GROUP = "reconciler.vendors"
SETTINGS = "config.schema.json"
"""The vendor's config fragment, beside its kind schemas: the settings only it has."""

F = TypeVar("F", bound=Callable[..., Any])
V = TypeVar("V")
_CACHES: list[Any] = []


def cached(fn: F) -> F:
    """`functools.cache` for what is derived from the vendors (schemas, kinds, words):
    forgotten with them by `reload()`."""
    wrapper = cache(fn)
    _CACHES.append(wrapper)
    return cast(F, wrapper)


@dataclass(frozen=True)
class Vendor:
    """One vendor plug-in. Targets are `module:attribute` strings, imported on first use, so
    that loading the registry imports no provider, sandbox or test code."""

    name: str
    provider: str
    sandbox: str
    schemas: Path
    """The folder of the vendor's JSON Schemas: one `<Kind>.schema.json` per kind."""
    contract: str = ""
    """Its case in the shared contract suite (a `reconciler.sandbox.contract.VendorCase`)."""
    vocabulary: str = ""
    """Its words (`name -> list of strings`), defined once: a kind schema's
    `{"x-vocabulary": name}` becomes `{"enum": words}` when the schema is loaded."""
    demo: str = ""
    """Its out-of-band change for `reconciler demo` (optional): a function that edits the
    vendor's sandbox state in place and says what it did, or returns None when the state
    has nothing to change."""
    examples: Path | None = None
    """The folder of its example manifests: one small, commented `<Kind>.yaml` per kind,
    shown in the manifest reference. Default: `examples/` beside the `schemas` folder."""

    def provider_class(self) -> type[Provider]:
        cls: type[Provider] = _load(self.provider)
        return cls

    def sandbox_class(self) -> Any:
        return _load(self.sandbox)

    def contract_case(self) -> Any:
        return _load(self.contract) if self.contract else None

    def demo_change(self) -> Callable[[dict[str, Any]], str | None] | None:
        return _load(self.demo) if self.demo else None

    def words(self) -> dict[str, Sequence[str]]:
        return _load(self.vocabulary) if self.vocabulary else {}

    def kind_schema(self, kind: str) -> Path:
        return self.schemas / f"{kind}.schema.json"

    def example(self, kind: str) -> Path:
        """The example manifest of one kind (may be absent)."""
        return (self.examples or self.schemas.parent / "examples") / f"{kind}.yaml"

    def settings_schema(self) -> Path:
        """The schema of the settings only this vendor's providers have (may be absent)."""
        return self.schemas / SETTINGS


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@cached
def vendors() -> dict[str, Vendor]:
    """Every vendor, by provider type: the packages under `reconciler/vendors/` (so a
    built-in vendor is one folder and nothing else), then the `reconciler.vendors` entry
    points of separately installed packages."""
    import reconciler.vendors

    found: dict[str, Vendor] = {}

    def add(vendor: object, where: str) -> None:
        if not isinstance(vendor, Vendor):
            raise ReconcilerError(f"vendor plug-in {where} does not provide a Vendor")
        if found.get(vendor.name, vendor) != vendor:
            raise ReconcilerError(f"two vendor plug-ins claim the provider type {vendor.name!r}")
        found[vendor.name] = vendor

    for info in sorted(pkgutil.iter_modules(reconciler.vendors.__path__), key=lambda m: m.name):
        if info.ispkg:
            module = importlib.import_module(f"reconciler.vendors.{info.name}")
            add(getattr(module, "VENDOR", None), f"reconciler.vendors.{info.name}")
    from importlib.metadata import entry_points  # start-up time: not for `--help`

    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        add(ep.load(), f"{ep.name} ({ep.value})")
    return found


@cached
def providers() -> dict[str, type[Provider]]:
    return {t: v.provider_class() for t, v in vendors().items()}


@cached
def kind_types() -> dict[str, str]:
    """Every kind, with the provider type that serves it."""
    return {kind: t for t, cls in providers().items() for kind in cls.KINDS}


def defaults() -> dict[str, VendorDefaults]:
    return {t: cls.DEFAULTS for t, cls in providers().items()}


def kind_spec(kind: str) -> KindSpec:
    return providers()[kind_types()[kind]].KINDS[kind]


def prune_keys() -> list[str]:
    """Every `prune:` word some kind answers to."""
    specs = [s for cls in providers().values() for s in cls.KINDS.values()]
    return sorted({s.prune_key for s in specs if s.prune_key})


def reload() -> None:
    """Forget what was discovered, and everything derived from it (tests that install a
    vendor of their own)."""
    for fn in _CACHES:
        fn.cache_clear()


class _Live(Mapping[str, V]):
    """A read-only view of a registry table that follows `reload()`: modules import it once."""

    def __init__(self, table: Callable[[], dict[str, V]]) -> None:
        self._table = table

    def __getitem__(self, key: str) -> V:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


PROVIDERS: Mapping[str, type[Provider]] = _Live(providers)
"""Every provider class, by type."""
KIND_TYPES: Mapping[str, str] = _Live(kind_types)
"""Every kind, with the provider type that serves it."""
