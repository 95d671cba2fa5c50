"""drift speaks of the live side, and lists undeclared live objects in declared scopes."""

from __future__ import annotations

import json

from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace
from tests.vendors.bitsight.test_provider import CRIT, _folder, _user, sharing
from tests.vendors.golem.test_provider import OWNER, T1, T2, UNNAMED, live, manifest
from tests.vendors.klipfolio.test_provider import ACME, G_FIN, G_SUP

RIGHTS = f"""
apiVersion: reconciler/v1
kind: KlipfolioClientShareRights
spec:
  client_id: {ACME}
  groups:
    - {{group_id: {G_FIN}, can_manage: false}}
    - {{group_id: {"f" * 32}, can_manage: false}}
"""


def test_member_and_field_drift_read_from_the_live_side(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    sandbox.state["klipfolio"] = {
        "groups": [{"id": G_FIN, "name": "Finance"}, {"id": "f" * 32, "name": "Ops"}],
        "clients": [
            {
                "id": ACME,
                "name": "Acme",
                "share_rights": [
                    {"group_id": G_FIN, "can_manage": True},
                    {"group_id": G_SUP, "can_manage": True},
                ],
            }
        ],
    }
    sandbox.state["bitsight"] = {
        "folders": [_folder(CRIT, [_user("alice@x.com"), _user("mallory@evil.example")])]
    }
    ws.config()
    ws.write("k.yaml", RIGHTS)
    ws.write("b.yaml", sharing(CRIT, "  shared_with_users:\n    - {email: alice@x.com}\n"))
    res = cli("drift", str(ws.root), "--no-color")
    assert res.code == 2, res.err
    out = res.out
    assert "live has member mallory@evil.example that no manifest declares" in out
    assert f"member {G_FIN} (Finance): live can_manage is true, the manifest says false" in out
    assert f"live has member {G_SUP} that no manifest declares" in out
    assert f"live has no member {'f' * 32} that the manifest declares" in out
    assert out.rstrip().endswith("Drift: 2 objects differ from the manifests.")
    # Never the words of a plan.
    assert "- member" not in out and "+ member" not in out and "Plan:" not in out
    assert "to update" not in out

    md = cli("drift", str(ws.root), "--format", "markdown")
    assert md.code == 2
    assert "**Drift: 2 objects differ from the manifests.**" in md.out
    assert "live has member mallory@evil.example that no manifest declares" in md.out

    doc = json.loads(cli("drift", str(ws.root), "--format", "json").out)
    assert doc["in_sync"] is False and doc["objects_drifted"] == 2 and doc["unmanaged"] == []
    assert {d["address"] for d in doc["drifted"]} == {
        f"bitsight/BitsightFolderSharing/{CRIT}",
        f"klipfolio/KlipfolioClientShareRights/{ACME}",
    }
    assert sandbox.writes() == []


def test_hand_made_golem_share_under_a_declared_owner_is_unmanaged_drift(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    sandbox.state["golem"] = {
        "accounts": [OWNER, UNNAMED, T1, T2],
        "shares": [
            live("11111111-1111-4111-8111-111111111111", OWNER, "ops", T1),
            live("22222222-2222-4222-8222-222222222222", OWNER, "by-hand", T2),
            live("33333333-3333-4333-8333-333333333333", UNNAMED, "elsewhere", T1),
        ],
    }
    ws.config()  # prune is off
    ws.write("g.yaml", manifest("ops", T1) + "---\n" + manifest("missing", T2))
    res = cli("drift", str(ws.root), "--no-color")
    assert res.code == 2, res.err
    assert f"? golem/GolemPermissionShare/{OWNER}/by-hand  (unmanaged:" in res.out
    assert "prune is off: apply leaves it" in res.out
    assert f'live target_account_id: "{T2}"' in res.out
    assert f"! golem/GolemPermissionShare/{OWNER}/missing  (declared but absent live)" in res.out
    assert "elsewhere" not in res.out  # not a declared scope
    assert "Drift: 2 objects differ from the manifests." in res.out

    doc = json.loads(cli("drift", str(ws.root), "--format", "json").out)
    (u,) = doc["unmanaged"]
    assert u["address"] == f"golem/GolemPermissionShare/{OWNER}/by-hand"
    assert u["protected"] is False and u["live"]["target_account_id"] == T2
    assert doc["objects_drifted"] == 2 and doc["in_sync"] is False

    # plan is unchanged: without prune it neither reads nor reports the undeclared share.
    plan = cli("plan", str(ws.root), "--no-color")
    assert "by-hand" not in plan.out and "Plan: 1 to create" in plan.out
    assert sandbox.writes() == []


def test_klipfolio_unmanaged_and_protected_roles(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    sandbox.state["klipfolio"] = {
        "roles": [
            {"id": "1" * 32, "name": "Admin", "permissions": ["user.manage"]},
            {"id": "2" * 32, "name": "Hand Made", "permissions": ["klip.edit"]},
            {"id": "3" * 32, "name": "Viewers", "description": "v", "permissions": []},
        ]
    }
    ws.config()
    ws.write(
        "r.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        "spec: {name: Viewers, description: v, permissions: []}\n",
    )
    res = cli("drift", str(ws.root), "--no-color")
    assert res.code == 2, res.err
    assert "? klipfolio/KlipfolioRole/Hand Made  (unmanaged:" in res.out
    assert "= klipfolio/KlipfolioRole/Admin  (unmanaged, protected:" in res.out
    assert "listed but not counted as drift" in res.out
    assert "Drift: 1 object differs from the manifests." in res.out
    doc = json.loads(cli("drift", str(ws.root), "--format", "json").out)
    assert {(u["address"], u["protected"]) for u in doc["unmanaged"]} == {
        ("klipfolio/KlipfolioRole/Admin", True),
        ("klipfolio/KlipfolioRole/Hand Made", False),
    }

    # With prune on, the undeclared role is one apply would delete: still unmanaged drift.
    ws.config(providers="klipfolio.prune: [roles]")
    pruned = cli("drift", str(ws.root), "--no-color")
    assert pruned.code == 2
    assert "Hand Made  (unmanaged: live in a declared scope, no manifest declares it; " in (
        pruned.out
    )
    assert "prune is on: apply would delete it" in pruned.out

    # Only the protected role left: listed, yet no drift (exit 0).
    sandbox.state["klipfolio"]["roles"].pop(1)
    clean = cli("drift", str(ws.root), "--no-color")
    assert clean.code == 0, clean.out
    assert "klipfolio/KlipfolioRole/Admin" in clean.out
    assert clean.out.rstrip().endswith("No drift: live state matches the manifests.")
    assert sandbox.writes() == []


def test_settings_protect_marks_an_unmanaged_object_protected(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    sandbox.state["golem"] = {
        "accounts": [OWNER, T1, T2],
        "shares": [
            live("11111111-1111-4111-8111-111111111111", OWNER, "ops", T1),
            live("22222222-2222-4222-8222-222222222222", OWNER, "break-glass", T2),
        ],
    }
    ws.config(settings=f'protect: ["golem/GolemPermissionShare/{OWNER}/break-*"]')
    ws.write("g.yaml", manifest("ops", T1))
    res = cli("drift", str(ws.root), "--no-color")
    assert res.code == 0, res.out + res.err
    assert f"= golem/GolemPermissionShare/{OWNER}/break-glass  (unmanaged, protected:" in res.out
    assert "No drift: live state matches the manifests." in res.out
