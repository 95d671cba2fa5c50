"""A faithful local simulator of the four vendor APIs, served on loopback."""

from reconciler.sandbox.core import Fault, Hook, Record, Sandbox

__all__ = ["Fault", "Hook", "Record", "Sandbox"]
