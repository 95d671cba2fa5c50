"""Golem Cloud in the shared contract suite."""

from __future__ import annotations

from reconciler.sandbox import Sandbox
from reconciler.sandbox.contract import VendorCase

OWNER, SECOND, ELSEWHERE = (
    "6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11",
    "2e8d4b6a-0c1f-4a3e-b5d7-9a1c3e5f7b22",
    "9d0c8b7a-6e5f-4d3c-8b2a-1f0e9d8c7b33",
)
T1, T2 = "0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22", "a3d8c1e5-6f2b-4a9c-8d7e-1b5f3c9e2d33"
OPS, BILLING, STALE, AWAY = (
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
    "44444444-4444-4444-8444-444444444444",
)
VIEW = "application(ops@acme.com/shop) @ dev@acme.com : view :"
EDIT = "application(ops@acme.com/shop) @ dev@acme.com : update :"
THEIRS = "application(ops@acme.com/shop) @ dev@acme.com : delete :"
EVERYONE = "application(ops@acme.com/status) @ * : view :"


def _share(sid: str, owner: str, name: str, target: str, grants: list[str], rev: int) -> dict:  # type: ignore[type-arg]
    return {
        "id": sid,
        "revision": rev,
        "ownerAccountId": owner,
        "targetAccountId": target,
        "name": name,
        "data": {"lowerPositive": grants},
    }


def _ops(sb: Sandbox) -> dict:  # type: ignore[type-arg]
    return next(s for s in sb.state["golem"]["shares"] if s["id"] == OPS)


def _meddle(sb: Sandbox) -> None:
    share = _ops(sb)
    share["data"]["lowerPositive"] = [THEIRS]
    share["revision"] += 1


def _survived(sb: Sandbox) -> bool:
    share = _ops(sb)
    return share["data"]["lowerPositive"] == [THEIRS] and share["revision"] == 4


CASE = VendorCase(
    vendor="golem",
    state={
        "accounts": [
            {"id": OWNER, "email": "ops@acme.com"},
            {"id": SECOND, "email": "data@acme.com"},
            {"id": ELSEWHERE, "email": "partner@example.com"},
            {"id": T1, "email": "dev@acme.com"},
            {"id": T2, "email": "ci@acme.com"},
        ],
        "shares": [
            _share(OPS, OWNER, "ops", T1, [VIEW], 3),
            _share(BILLING, OWNER, "billing", T1, [VIEW], 0),
            _share(STALE, OWNER, "stale", T2, [], 1),
            # An account no manifest names: never read, never pruned.
            _share(AWAY, ELSEWHERE, "away", T1, [VIEW], 0),
        ],
    },
    manifests=f"""
apiVersion: reconciler/v1
kind: GolemPermissionShare
spec:
  owner_account_id: {OWNER}
  name: ops
  target_account_id: {T1}
  data: {{lowerPositive: ["{EDIT}", "{VIEW}"]}}
---
apiVersion: reconciler/v1
kind: GolemPermissionShare
spec:
  owner_account_id: {OWNER}
  name: billing
  target_account_id: {T2}
  data: {{lowerPositive: ["{EVERYONE}"]}}
---
apiVersion: reconciler/v1
kind: GolemPermissionShare
spec:
  owner_account_id: {SECOND}
  name: fresh
  target_account_id: {T1}
  data: {{upperPositive: ["{VIEW}"]}}
""",
    expected_writes=[
        ("PATCH", f"/v1/permission-shares/{OPS}"),
        ("DELETE", f"/v1/permission-shares/{BILLING}"),
        ("POST", f"/v1/accounts/{OWNER}/permission-shares"),
        ("DELETE", f"/v1/permission-shares/{STALE}"),
        ("POST", f"/v1/accounts/{SECOND}/permission-shares"),
    ],
    meddle=_meddle,
    meddled=f"golem/GolemPermissionShare/{OWNER}/ops",
    survived=_survived,
    config="golem.prune: [permission_shares]",
)
