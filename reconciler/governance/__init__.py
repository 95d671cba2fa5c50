"""The rules between desired and applied: guards, expiry, drift ignores, protection and
safety, each a phase over a plan value.
"""
