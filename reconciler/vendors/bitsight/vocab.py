"""BitSight's words, defined once for the provider and the sandbox."""

from reconciler.core.ids import UUID

ID = UUID

FLAGS = ("is_shared", "group_can_edit_contents", "shared_with_all_users")
"""The writable folder options; `group_can_edit_properties` is read-only and never sent."""

USER_FLAGS = ("can_edit_folder_contents", "can_edit_folder_properties")
"""A shared user's rights."""

VOCABULARY = {"flags": FLAGS, "user-flags": USER_FLAGS}
