"""The rules between desired and applied (expiry, drift ignores, protection, guards and
safety), each a phase over a plan value.
"""
