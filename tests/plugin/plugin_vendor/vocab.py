"""Noteboard's words, shared by its provider, its sandbox app and its board schema."""

from reconciler.core.ids import UUID

ID = UUID
VISIBILITY = ("private", "team", "public")
VOCABULARY = {"visibility": VISIBILITY}
