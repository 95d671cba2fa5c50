"""reconciler: access-as-code for SaaS sharing."""

__version__ = "0.1.0"
