"""The Bitsight vendor: provider, sandbox app, schemas, vocabulary, contract case, examples."""

from pathlib import Path

from reconciler.plugin.registry import Vendor

VENDOR = Vendor(
    name="bitsight",
    provider="reconciler.vendors.bitsight.provider:BitsightProvider",
    sandbox="reconciler.vendors.bitsight.sandbox:BitsightSandbox",
    schemas=Path(__file__).parent / "schemas",
    contract="reconciler.vendors.bitsight.contract:CASE",
    vocabulary="reconciler.vendors.bitsight.vocab:VOCABULARY",
)
