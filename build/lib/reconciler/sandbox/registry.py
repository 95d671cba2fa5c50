"""The vendor simulators the sandbox serves."""

from __future__ import annotations

from reconciler.sandbox.bitsight import BitsightSandbox
from reconciler.sandbox.core import VendorApp
from reconciler.sandbox.golem import GolemSandbox
from reconciler.sandbox.klipfolio import KlipfolioSandbox
from reconciler.sandbox.salesforce import SalesforceSandbox

VENDOR_APPS: list[type[VendorApp]] = [
    KlipfolioSandbox,
    GolemSandbox,
    BitsightSandbox,
    SalesforceSandbox,
]
