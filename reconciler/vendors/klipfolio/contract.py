"""Klipfolio in the shared contract suite."""

from __future__ import annotations

from reconciler.sandbox import Sandbox
from reconciler.sandbox.contract import VendorCase

CLIENT = "0123456789abcdef0123456789abcdef"
GA, GB = "fedcba9876543210fedcba9876543210", "aaaabbbbccccddddeeeeffff00001111"


def _meddle(sb: Sandbox) -> None:
    for role in sb.state["klipfolio"]["roles"]:
        if role["name"] == "Editors":
            role["permissions"] = ["user.manage"]


def _survived(sb: Sandbox) -> bool:
    role = next(r for r in sb.state["klipfolio"]["roles"] if r["name"] == "Editors")
    return role["permissions"] == ["user.manage"]


CASE = VendorCase(
    vendor="klipfolio",
    state={
        "groups": [{"id": GA, "name": "Ops"}, {"id": GB, "name": "Eng"}],
        "clients": [
            {"id": CLIENT, "name": "C", "share_rights": [{"group_id": GB, "can_manage": True}]}
        ],
        "roles": [
            {"id": "1" * 32, "name": "Editors", "description": "e", "permissions": ["klip.edit"]},
            {"id": "2" * 32, "name": "Stale", "description": "s", "permissions": []},
        ],
    },
    manifests=f"""
apiVersion: reconciler/v1
kind: KlipfolioRole
spec: {{name: Editors, description: e, permissions: [klip.edit, klip.build]}}
---
apiVersion: reconciler/v1
kind: KlipfolioRole
spec: {{name: Builders, description: b, permissions: [klip.build]}}
---
apiVersion: reconciler/v1
kind: KlipfolioClientShareRights
metadata: {{allow: {{last-manager: "Ops takes the client over; Klipfolio admins manage it"}}}}
spec:
  client_id: {CLIENT}
  groups: [{{group_name: Ops, can_manage: false}}]
""",
    expected_writes=[
        ("PUT", "/api/1/roles/" + "1" * 32),
        ("POST", "/api/1/roles"),
        ("DELETE", "/api/1/roles/" + "2" * 32),
        ("PUT", f"/api/1/clients/{CLIENT}/share-rights"),
        ("DELETE", f"/api/1/clients/{CLIENT}/share-rights/{GB}"),
    ],
    meddle=_meddle,
    meddled="klipfolio/KlipfolioRole/Editors",
    survived=_survived,
    config="klipfolio.prune: [roles]",
)
