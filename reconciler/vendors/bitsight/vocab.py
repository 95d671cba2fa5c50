"""BitSight's words, defined once for the provider and the sandbox."""

from reconciler.plugin import UUID

ID = UUID

FLAGS = (
    "is_shared",
    "group_can_edit_contents",
    "group_can_edit_properties",
    "shared_with_all_users",
)
"""The writable folder options ("PATCH: Edit a Folder")."""

USER_FLAGS = ("can_edit_folder_contents", "can_edit_folder_properties")
"""A shared user's rights."""

RATE_LIMIT_WAIT = 60.0
"""Seconds to wait after a 429 without `Retry-After`: BitSight's 429 page says "Please wait
1 minute" and documents no header."""

NOT_OWNER = "You must be the folder owner to manage permissions"
"""BitSight's 403 to a sharing change by anyone but the folder's owner."""

VOCABULARY = {"flags": FLAGS, "user-flags": USER_FLAGS}
