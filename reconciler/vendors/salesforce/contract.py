"""Salesforce in the shared contract suite."""

from __future__ import annotations

from reconciler.sandbox import Sandbox
from reconciler.sandbox.contract import VendorCase

API = "/services/data/v60.0"
REPORTS, BOARDS = "00l5e000001AbCdAAK", "00l5e000001XyZqAAK"
USER, GROUP, ROLE = "005R0000000Kg8yIAC", "00G5e000000TeAmEAK", "00E5e000000RoLeEAK"
S_USER, S_GROUP, S_ORG = "0045e000000Sh01AAC", "0045e000000Sh02AAC", "0045e000000Sh03AAC"


def _share(sid: str, access: str, share_type: str, target: str) -> dict[str, str]:
    return {"shareId": sid, "accessType": access, "shareType": share_type, "sharedWithId": target}


def _user_share(sb: Sandbox) -> dict[str, str]:
    folder = next(f for f in sb.state["salesforce"]["folders"] if f["id"] == REPORTS)
    return next(s for s in folder["shares"] if s["shareId"] == S_USER)


def _meddle(sb: Sandbox) -> None:
    _user_share(sb)["accessType"] = "edit"


def _survived(sb: Sandbox) -> bool:
    return _user_share(sb)["accessType"] == "edit"


CASE = VendorCase(
    vendor="salesforce",
    state={
        "org_id": "00D5e000000OrGz",
        "folders": [
            {
                "id": REPORTS,
                "label": "Sales Reports",
                "name": "Sales_Reports",
                "type": "report",
                "shares": [
                    _share(S_USER, "view", "user", USER),
                    _share(S_GROUP, "edit", "group", GROUP),
                    _share(S_ORG, "view", "organization", "00D5e000000OrGzEAK"),
                ],
            },
            {"id": BOARDS, "label": "Board", "name": "Board", "type": "dashboard", "shares": []},
        ],
    },
    manifests=f"""
apiVersion: reconciler/v1
kind: SalesforceFolderShares
spec:
  folder_id: {REPORTS[:15]}
  shares:
    - {{share_type: user, shared_with_id: {USER[:15]}, access_type: manage}}
    - {{share_type: organization, access_type: view}}
    - {{share_type: roleandsubordinates, shared_with_id: {ROLE}, access_type: view}}
---
apiVersion: reconciler/v1
kind: SalesforceFolderShares
spec:
  folder_id: {BOARDS}
  shares:
    - {{share_type: group, shared_with_id: {GROUP}, access_type: edit}}
""",
    expected_writes=[
        ("POST", f"{API}/folders/{REPORTS}/shares"),
        ("PATCH", f"{API}/folders/{REPORTS}/shares/{S_USER}"),
        ("DELETE", f"{API}/folders/{REPORTS}/shares/{S_GROUP}"),
        ("POST", f"{API}/folders/{BOARDS}/shares"),
    ],
    meddle=_meddle,
    meddled=f"salesforce/SalesforceFolderShares/{REPORTS}",
    survived=_survived,
)
