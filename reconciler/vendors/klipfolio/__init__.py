"""The Klipfolio vendor: provider, sandbox app, schemas, vocabulary, contract case, examples."""

from pathlib import Path

from reconciler.plugin.registry import Vendor

VENDOR = Vendor(
    name="klipfolio",
    provider="reconciler.vendors.klipfolio.provider:KlipfolioProvider",
    sandbox="reconciler.vendors.klipfolio.sandbox:KlipfolioSandbox",
    schemas=Path(__file__).parent / "schemas",
    contract="reconciler.vendors.klipfolio.contract:CASE",
    vocabulary="reconciler.vendors.klipfolio.vocab:VOCABULARY",
    demo="reconciler.vendors.klipfolio.demo:meddle",
)
