"""reconciler: access-as-code for SaaS sharing."""

__version__ = "0.2.0"
"""The one place the version is written: the package metadata reads it from here."""
