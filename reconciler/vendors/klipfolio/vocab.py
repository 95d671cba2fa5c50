"""Klipfolio's words, defined once for the provider, the sandbox and the validation."""

import re

from reconciler.plugin import IdFormat

ID = IdFormat("^[0-9a-fA-F]{32}$", "a Klipfolio id (32 hex characters)")


PERMISSIONS: tuple[str, ...] = (
    "account.api",
    "account.api_key",
    "account.profile",
    "account.settings",
    "account.tokens",
    "account.usage",
    "admin.annotation",
    "admin.client",
    "admin.datasource",
    "admin.klip",
    "admin.tab",
    "client.access",
    "client.build",
    "client.delete",
    "client.edit",
    "client.login",
    "client.share",
    "dashboard.annotation.edit",
    "dashboard.annotation.view",
    "dashboard.ds_warning.view",
    "dashboard.fullscreen",
    "dashboard.klip",
    "dashboard.library",
    "dashboard.links",
    "dashboard.tab",
    "dashboard.theme",
    "datasource.create",
    "datasource.delete",
    "datasource.download",
    "datasource.edit",
    "datasource.import",
    "datasource.library",
    "datasource.share",
    "group.view",
    "klip.build",
    "klip.delete",
    "klip.download",
    "klip.edit",
    "klip.email",
    "klip.embed",
    "klip.import",
    "klip.library",
    "klip.share",
    "tab.build",
    "tab.delete",
    "tab.download",
    "tab.edit",
    "tab.email",
    "tab.import",
    "tab.publish",
    "tab.push",
    "tab.share",
    "tag.assign",
    "tag.create",
    "tag.delete",
    "tag.edit",
    "tag.view",
    "user.manage",
    "user.view",
    "user.viewonly.manage",
)
"""Role permission names: the reference page "List of Role Permissions"
(apidocs.klipfolio.com/reference/permissions, both its versions: the older one adds
`dashboard.links`, the newer `account.*`, `admin.*`, `group.view`, `datasource.library`...),
and the API seed's "Permission options" (`dashboard.ds_warning.view`, `tag.*`)."""

VOCABULARY = {"permissions": PERMISSIONS}
"""For the schemas: `{"x-vocabulary": "permissions"}` (the admin_permissions setting)."""

WELL_FORMED = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
"""A permission name's shape: dotted lower-case words (`dashboard.annotation.view`)."""


TYPO_DISTANCE = 2
"""A name this few edits (a letter added, dropped, changed, or two swapped) from a known
one, case aside, is taken for a typo of it."""


def unknown_permission(name: str) -> tuple[str, bool]:
    """What to say of a permission not on the list, and whether it is an error: a name
    within TYPO_DISTANCE of a known one is a typo (an error naming the known one), one of
    another shape is no permission (an error); any other well-formed name may be one
    Klipfolio added since (a warning)."""
    lowered = name.lower()
    near = sorted((_distance(lowered, known), known) for known in PERMISSIONS)
    if near and near[0][0] <= TYPO_DISTANCE:
        return f"unknown permission {name!r}; did you mean {near[0][1]!r}?", True
    if not WELL_FORMED.fullmatch(name):
        return f"unknown permission {name!r}", True
    return (
        f"permission {name!r} is not on Klipfolio's published list; kept as written "
        "(the API refuses a name it does not know)",
        False,
    )


def _distance(a: str, b: str) -> int:
    """Edits from `a` to `b`: insertions, deletions, substitutions, adjacent swaps."""
    previous: list[int] = []
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        before, previous, row = previous, row, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], before[j - 2] + 1)
    return row[-1]


ADMIN_PERMISSIONS: frozenset[str] = frozenset(
    p for p in PERMISSIONS if p.startswith(("admin.", "account."))
) | {"user.manage", "client.delete"}
"""The `admin-permission` guard's default list (docs/governance.md): a role that gains one
of these can administer the account, its users or its clients."""
