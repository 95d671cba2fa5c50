"""Salesforce's words, defined once for the provider, the sandbox and the schema test."""

from reconciler.plugin import IdFormat

ID = IdFormat("^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$", "a Salesforce id (15 or 18 letters and digits)")

SHARE_TYPES = (
    "group",
    "role",
    "roleandsubordinates",
    "roleandsubordinatesinternal",
    "organization",
    "allprmusers",
    "user",
    "partneruser",
    "allcspusers",
    "customerportaluser",
    "portalrole",
    "portalroleandsubordinates",
    "channelprogramgroup",
)
"""Folder share types, lower-cased (the API and the manifests take any case)."""

ORG_WIDE = ("organization", "allprmusers", "allcspusers")
"""Share types without a specific recipient: the type alone identifies the share."""

ACCESS_TYPES = ("view", "edit", "manage")

VOCABULARY = {"share-types": SHARE_TYPES, "org-wide": ORG_WIDE, "access-types": ACCESS_TYPES}
