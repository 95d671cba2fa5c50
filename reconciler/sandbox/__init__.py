"""A faithful local simulator of every vendor's API, served on loopback, with the
contract-test helpers.
"""

from reconciler.sandbox.server import Fault, Hook, Record, Sandbox

__all__ = ["Fault", "Hook", "Record", "Sandbox"]
