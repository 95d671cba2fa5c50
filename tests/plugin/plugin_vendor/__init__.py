"""A throw-away vendor, Noteboard, shipped as a plug-in: the test suite installs it through a
`reconciler.vendors` entry point (tests/test_vendor_plugin.py). No core file names it."""

from pathlib import Path

from reconciler.plugin.registry import Vendor

VENDOR = Vendor(
    name="noteboard",
    provider="tests.plugin.plugin_vendor.provider:NoteboardProvider",
    sandbox="tests.plugin.plugin_vendor.sandbox:NoteboardSandbox",
    schemas=Path(__file__).parent / "schemas",
    vocabulary="tests.plugin.plugin_vendor.vocab:VOCABULARY",
    examples=Path(__file__).parent / "examples",
)
