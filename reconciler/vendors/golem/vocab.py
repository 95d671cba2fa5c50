"""Golem Cloud's words, defined once for the provider and the sandbox."""

from reconciler.plugin import UUID

ID = UUID

DATA_KEYS = ("lowerPositive", "lowerNegative", "upperPositive", "upperNegative")
"""The four grant lists of a permission share."""

VOCABULARY = {"data-keys": DATA_KEYS}
