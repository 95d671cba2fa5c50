"""A faithful local simulator of every vendor's API, served on loopback."""

from reconciler.sandbox.server import Fault, Hook, Record, Sandbox

__all__ = ["Fault", "Hook", "Record", "Sandbox"]
