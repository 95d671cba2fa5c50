"""The one list of providers and the kinds they serve."""

from __future__ import annotations

from reconciler.config import VendorDefaults
from reconciler.model import KindSpec
from reconciler.providers.base import Provider
from reconciler.providers.bitsight import BitsightProvider
from reconciler.providers.golem import GolemProvider
from reconciler.providers.klipfolio import KlipfolioProvider
from reconciler.providers.salesforce import SalesforceProvider

PROVIDERS: dict[str, type[Provider]] = {
    cls.TYPE: cls
    for cls in (
        KlipfolioProvider,
        BitsightProvider,
        GolemProvider,
        SalesforceProvider,
    )
}

KIND_TYPES: dict[str, str] = {kind: cls.TYPE for cls in PROVIDERS.values() for kind in cls.KINDS}
"""Every kind, with the provider type that serves it."""


def defaults() -> dict[str, VendorDefaults]:
    return {t: cls.DEFAULTS for t, cls in PROVIDERS.items()}


def kind_spec(kind: str) -> KindSpec:
    return PROVIDERS[KIND_TYPES[kind]].KINDS[kind]
