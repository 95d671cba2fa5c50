"""The vendor simulators the sandbox serves."""

from __future__ import annotations

from reconciler.sandbox.core import VendorApp
from reconciler.sandbox.klipfolio import KlipfolioSandbox

VENDOR_APPS: list[type[VendorApp]] = [KlipfolioSandbox]
