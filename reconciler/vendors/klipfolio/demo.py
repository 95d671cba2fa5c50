"""Klipfolio's step in `reconciler demo`: an out-of-band change in its sandbox state."""

from __future__ import annotations

from typing import Any


def meddle(state: dict[str, Any]) -> str | None:
    """Someone grants a group manage rights on a client by hand."""
    clients = state.get("clients", [])
    groups = state.get("groups", [])
    if not clients or not groups:
        return None
    client, group = clients[0], groups[-1]
    rights = client.setdefault("share_rights", [])
    rights[:] = [r for r in rights if r["group_id"] != group["id"]]
    rights.append({"group_id": group["id"], "can_manage": True})
    return f"group {group['name']!r} was given manage rights on client {client.get('name')!r}"
