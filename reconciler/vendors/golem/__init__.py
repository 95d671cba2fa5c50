"""The Golem vendor: provider, sandbox app, schemas, vocabulary, contract case, examples."""

from pathlib import Path

from reconciler.plugin.registry import Vendor

VENDOR = Vendor(
    name="golem",
    provider="reconciler.vendors.golem.provider:GolemProvider",
    sandbox="reconciler.vendors.golem.sandbox:GolemSandbox",
    schemas=Path(__file__).parent / "schemas",
    contract="reconciler.vendors.golem.contract:CASE",
    vocabulary="reconciler.vendors.golem.vocab:VOCABULARY",
)
