"""The Salesforce vendor: provider, sandbox app, schemas, vocabulary, contract case, examples."""

from pathlib import Path

from reconciler.plugin.registry import Vendor

VENDOR = Vendor(
    name="salesforce",
    provider="reconciler.vendors.salesforce.provider:SalesforceProvider",
    sandbox="reconciler.vendors.salesforce.sandbox:SalesforceSandbox",
    schemas=Path(__file__).parent / "schemas",
    contract="reconciler.vendors.salesforce.contract:CASE",
    vocabulary="reconciler.vendors.salesforce.vocab:VOCABULARY",
)
