"""The rules between desired and applied: expiry, drift ignores, protection, guards and
safety, each a phase of one pipeline (pipeline.py) over a plan value.
"""
