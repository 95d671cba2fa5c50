"""Noteboard's words, shared by its provider, its sandbox app and its board schema."""

from reconciler.plugin import UUID

ID = UUID
VISIBILITY = ("private", "team", "public")
VOCABULARY = {"visibility": VISIBILITY}
