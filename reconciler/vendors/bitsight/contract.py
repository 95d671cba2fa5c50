"""BitSight in the shared contract suite."""

from __future__ import annotations

from typing import Any

from reconciler.sandbox import Sandbox
from reconciler.sandbox.contract import VendorCase

CRITICAL = "fcc8b8c4-4fa3-4735-ac14-405ac7855d70"
SUPPLIERS = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _folder(guid: str, name: str, users: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "guid": guid,
        "name": name,
        "owner": "owner@example.com",
        "shared_options": {
            "is_shared": True,
            "shared_with_all_users": False,
            "group_can_edit_contents": False,
            "group_can_edit_properties": False,
            "shared_with": users,
        },
    }


def _critical(sb: Sandbox) -> dict[str, Any]:
    return next(f for f in sb.state["bitsight"]["folders"] if f["guid"] == CRITICAL)


def _meddle(sb: Sandbox) -> None:
    _critical(sb)["shared_options"]["shared_with"].append(
        {"email": "mallory@example.com", "can_edit_folder_contents": True}
    )


def _survived(sb: Sandbox) -> bool:
    users = _critical(sb)["shared_options"]["shared_with"]
    return any(u["email"] == "mallory@example.com" for u in users)


CASE = VendorCase(
    vendor="bitsight",
    state={
        "folders": [
            _folder(
                CRITICAL,
                "Critical vendors",
                [
                    {"email": "Alice@Example.com", "can_edit_folder_contents": False},
                    {"email": "bob@example.com", "can_edit_folder_contents": True},
                ],
            ),
            _folder(SUPPLIERS, "Suppliers", []),
        ],
    },
    manifests=f"""
apiVersion: reconciler/v1
kind: BitsightFolderSharing
spec:
  folder_guid: {CRITICAL}
  shared_with_users:
    - {{email: alice@example.com, can_edit_folder_contents: true}}
    - {{email: carol@example.com}}
---
apiVersion: reconciler/v1
kind: BitsightFolderSharing
metadata: {{allow: {{everyone: "Every analyst reviews suppliers"}}}}
spec:
  folder_guid: {SUPPLIERS}
  shared_with_all_users: true
  members: additive
  shared_with_users: [{{email: dave@example.com, can_edit_folder_properties: true}}]
""",
    expected_writes=[
        ("PATCH", f"/ratings/v1/folders/{CRITICAL}"),
        ("PATCH", f"/ratings/v1/folders/{SUPPLIERS}"),
    ],
    meddle=_meddle,
    meddled=f"bitsight/BitsightFolderSharing/{CRITICAL}",
    survived=_survived,
)
