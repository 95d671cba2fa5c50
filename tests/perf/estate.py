"""Synthetic estates across all four vendors: sandbox state plus manifests that differ from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from reconciler.vendors.klipfolio.vocab import PERMISSIONS
from reconciler.vendors.salesforce.ids import to18

SIZES: dict[str, dict[str, int]] = {
    # roles, clients with share rights, bitsight folders, golem shares, salesforce folders
    "XS": {"roles": 12, "clients": 10, "folders": 10, "shares": 10, "sf": 10},
    "S": {"roles": 30, "clients": 20, "folders": 30, "shares": 50, "sf": 30},
    "M": {"roles": 100, "clients": 60, "folders": 100, "shares": 150, "sf": 100},
    "L": {"roles": 300, "clients": 200, "folders": 300, "shares": 500, "sf": 300},
}


@dataclass
class Estate:
    state: dict[str, Any]
    docs: dict[str, list[str]] = field(default_factory=dict)
    """File name -> YAML documents."""
    objects: int = 0
    changed: int = 0

    def write(self, root: Any) -> None:
        for name, docs in self.docs.items():
            (root / name).write_text("\n---\n".join(docs) + "\n")


def _hex(prefix: str, i: int) -> str:
    return f"{prefix}{i:0{32 - len(prefix)}x}"


def _uuid(ns: str, i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{ns}-{i}"))


def _sf(prefix: str, i: int) -> str:
    return to18(f"{prefix}{i:012d}")


def make(size: str = "S", change_every: int = 5) -> Estate:
    """An estate of `size`; every `change_every`-th object differs between live and desired."""
    n = SIZES[size]
    est = Estate({})
    perms = list(PERMISSIONS)

    def changed(i: int) -> bool:
        hit = change_every > 0 and i % change_every == 0
        est.changed += hit
        est.objects += 1
        return hit

    # Klipfolio: roles in the company scope, share rights per client.
    groups = [{"id": _hex("9", g), "name": f"Group {g}"} for g in range(8)]
    roles, role_docs = [], []
    for i in range(n["roles"]):
        live = sorted(perms[(i + k) % len(perms)] for k in range(4))
        want = live if not changed(i) else sorted(set(live[:3]) | {perms[(i + 9) % len(perms)]})
        if i % 7 != 3:  # the rest are created
            roles.append(
                {
                    "id": _hex("a", i),
                    "name": f"Role {i:04d}",
                    "description": f"role {i}",
                    "permissions": live,
                }
            )
        role_docs.append(
            _doc(
                "KlipfolioRole",
                {"name": f"Role {i:04d}", "description": f"role {i}", "permissions": want},
            )
        )
    clients, right_docs = [], []
    for c in range(n["clients"]):
        live_rights: list[dict[str, Any]] = [
            {"group_id": groups[(c + k) % 8]["id"], "can_manage": k == 0} for k in range(3)
        ]
        want_rights = [dict(r) for r in live_rights]
        if changed(c):
            want_rights[1]["can_manage"] = True
        clients.append({"id": _hex("c", c), "name": f"Client {c}", "share_rights": live_rights})
        right_docs.append(
            _doc("KlipfolioClientShareRights", {"client_id": _hex("c", c), "groups": want_rights})
        )
    est.state["klipfolio"] = {"groups": groups, "clients": clients, "roles": roles}

    # BitSight: folders with users.
    folders, folder_docs = [], []
    for f in range(n["folders"]):
        users = [
            {
                "email": f"user{f}.{k}@example.com",
                "can_edit_folder_contents": k == 0,
                "can_edit_folder_properties": False,
            }
            for k in range(3)
        ]
        want_users: list[dict[str, Any]] = [dict(u) for u in users]
        if changed(f):
            want_users.append(
                {
                    "email": f"new{f}@example.com",
                    "can_edit_folder_contents": False,
                    "can_edit_folder_properties": False,
                }
            )
        guid = _uuid("folder", f)
        folders.append(
            {
                "guid": guid,
                "name": f"Folder {f}",
                "description": "",
                "owner": "o@example.com",
                "shared_options": {
                    "is_shared": True,
                    "shared_with_all_users": False,
                    "group_can_edit_contents": False,
                    "group_can_edit_properties": False,
                    "shared_with": users,
                },
            }
        )
        folder_docs.append(
            _doc(
                "BitsightFolderSharing",
                {"folder_guid": guid, "is_shared": True, "shared_with_users": want_users},
            )
        )
    est.state["bitsight"] = {"folders": folders}

    # Golem: shares across 5 owner accounts.
    owners = [_uuid("owner", o) for o in range(5)]
    targets = [_uuid("target", t) for t in range(10)]
    shares, share_docs = [], []
    for s in range(n["shares"]):
        owner, target = owners[s % 5], targets[s % 10]
        data = {
            "lowerPositive": [f"application(o{s}/app) @ t : view :"],
            "lowerNegative": [],
            "upperPositive": [],
            "upperNegative": [],
        }
        want_data = {k: list(v) for k, v in data.items()}
        if changed(s):
            want_data["lowerPositive"].append(f"application(o{s}/app2) @ t : view :")
        if s % 7 == 3:  # created
            share_docs.append(
                _doc(
                    "GolemPermissionShare",
                    {
                        "owner_account_id": owner,
                        "name": f"share-{s:04d}",
                        "target_account_id": target,
                        "data": want_data,
                    },
                )
            )
            continue
        shares.append(
            {
                "id": _uuid("share", s),
                "revision": 0,
                "ownerAccountId": owner,
                "targetAccountId": target,
                "name": f"share-{s:04d}",
                "currentCardId": _uuid("card", s),
                "data": data,
            }
        )
        share_docs.append(
            _doc(
                "GolemPermissionShare",
                {
                    "owner_account_id": owner,
                    "name": f"share-{s:04d}",
                    "target_account_id": target,
                    "data": want_data,
                },
            )
        )
    est.state["golem"] = {"accounts": owners + targets, "shares": shares}

    # Salesforce: folders with shares.
    sf_folders, sf_docs = [], []
    for f in range(n["sf"]):
        fid = _sf("00l", f)
        live_shares = [
            {
                "shareId": _sf("004", f * 10 + k),
                "accessType": "view",
                "shareType": "user",
                "sharedWithId": _sf("005", f * 10 + k),
                "sharedWithLabel": f"User {k}",
            }
            for k in range(2)
        ]
        want_shares = [
            {"share_type": "user", "shared_with_id": s["sharedWithId"], "access_type": "view"}
            for s in live_shares
        ]
        if changed(f):
            want_shares[0]["access_type"] = "edit"
            want_shares.append(
                {
                    "share_type": "user",
                    "shared_with_id": _sf("005", 900000 + f),
                    "access_type": "view",
                }
            )
        sf_folders.append(
            {
                "id": fid,
                "label": f"Folder {f}",
                "name": f"Folder_{f}",
                "type": "report",
                "shares": live_shares,
            }
        )
        sf_docs.append(_doc("SalesforceFolderShares", {"folder_id": fid, "shares": want_shares}))
    est.state["salesforce"] = {"folders": sf_folders}

    est.docs = {
        "klipfolio-roles.yaml": role_docs,
        "klipfolio-rights.yaml": right_docs,
        "bitsight.yaml": folder_docs,
        "golem.yaml": share_docs,
        "salesforce.yaml": sf_docs,
    }
    return est


def _doc(kind: str, spec: dict[str, Any]) -> str:
    import json

    return f"apiVersion: reconciler/v1\nkind: {kind}\nspec: {json.dumps(spec)}"
