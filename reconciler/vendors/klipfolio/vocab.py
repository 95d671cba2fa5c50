"""Klipfolio's words, defined once for the provider, the sandbox and the role schema."""

from reconciler.core.ids import IdFormat

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
"""Role permission names, as listed under "Permission options" in the API docs."""

VOCABULARY = {"permissions": PERMISSIONS}
"""For the schemas: `{"x-vocabulary": "permissions"}` in KlipfolioRole.schema.json."""

ADMIN_PERMISSIONS: frozenset[str] = frozenset(
    p for p in PERMISSIONS if p.startswith(("admin.", "account."))
) | {"user.manage", "client.delete"}
"""The `admin-permission` guard's default list (SPEC §5.1): a role that gains one of these
can administer the account, its users or its clients."""
