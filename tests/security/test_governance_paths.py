"""Governance is the same in both forms of apply (issue 17, items 5 and 7):

- an expired `expires:` never deletes a protected object (`settings.protect`, or the
  Klipfolio `protected_roles`): the plan lists it as protected with its expiry, so
  `apply --auto-approve` and `apply PLAN.json` agree: nothing is deleted;
- a guard refuses only its own change: reverting a manager someone added by hand
  (last-manager) no longer blocks an unrelated role, in `apply PATHS` and `apply PLAN.json`;
  `--force` still writes it.
"""

from __future__ import annotations

import json

import pytest

from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace

EXPIRED = "2024-01-31"
GLASS = "klipfolio/KlipfolioRole/Break Glass"
ADMIN = "klipfolio/KlipfolioRole/Admin"
PROTECT = 'protect: ["klipfolio/KlipfolioRole/Break*"]'

CLIENT = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
FINANCE = "1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d"
SUPPORT = "4d5e6f7a8b9c4d0e1f2a3b4c5d6e7f8a"
RIGHTS = f"klipfolio/KlipfolioClientShareRights/{CLIENT}"
VIEWERS = "klipfolio/KlipfolioRole/Viewers"


def _role(name: str) -> str:
    return (
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        f"spec: {{name: {name}, description: x, permissions: [klip.email], "
        f"expires: {EXPIRED}}}\n"
    )


def _roles(sandbox: Sandbox) -> list[str]:
    return sorted(r["name"] for r in sandbox.state["klipfolio"]["roles"])


@pytest.fixture
def expired(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    """Two declared roles whose expiry has passed: Break Glass (a protect glob covers it
    in the tests that set one) and Admin (the Klipfolio default `protected_roles`)."""
    sandbox.state["klipfolio"] = {
        "roles": [
            {"id": "1" * 32, "name": "Admin", "description": "x", "permissions": ["klip.email"]},
            {"id": "3" * 32, "name": "Break Glass", "description": "x", "permissions": []},
        ],
    }
    ws.write("glass.yaml", _role("Break Glass"))
    ws.write("admin.yaml", _role("Admin"))
    return sandbox


def test_an_expired_protected_object_is_listed_as_protected_in_every_format(
    expired: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(settings=PROTECT)
    res = cli("plan", str(ws.root), "--no-color", "--detailed-exitcode")
    assert res.code == 0, res.out + res.err
    assert f"  = {GLASS}  (expired {EXPIRED}, protected)" in res.out
    assert f"  = {ADMIN}  (expired {EXPIRED}, protected)" in res.out
    assert f"- {GLASS}" not in res.out and f"- {ADMIN}" not in res.out
    doc = json.loads(cli("plan", str(ws.root), "--format", "json").out)
    assert doc["changes"] == [] and doc["protected"] == [ADMIN, GLASS]
    md = cli("plan", str(ws.root), "--format", "markdown").out
    assert f"expired {EXPIRED}, protected" in md.replace("\\", "")
    assert expired.writes() == []


def test_apply_with_paths_and_apply_of_a_saved_plan_agree_protection_wins(
    expired: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(settings=PROTECT)
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 0, res.out + res.err
    assert expired.writes() == [], "apply --auto-approve deleted a protected object"
    assert _roles(expired) == ["Admin", "Break Glass"]
    saved = ws.root / "plan.json"
    assert cli("plan", str(ws.root), "--out", str(saved)).code == 0
    res = cli("apply", str(saved), "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 0, res.out + res.err
    assert "No changes" in res.out
    assert expired.writes() == [] and _roles(expired) == ["Admin", "Break Glass"]


def test_a_saved_plan_made_before_the_protect_glob_is_refused_and_deletes_nothing(
    expired: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # Without the glob the expiry plans a delete; once the glob is in the config, neither
    # form of apply carries it out, --force or not.
    ws.config()
    saved = ws.root / "plan.json"
    cli("plan", str(ws.root), "--out", str(saved))
    assert [c["address"] for c in json.loads(saved.read_text())["changes"]] == [GLASS]
    config = ws.config(settings=PROTECT)
    for extra in ([], ["--force"]):
        res = cli("apply", str(saved), "--config", str(config), *extra)
        assert res.code == 1, res.out + res.err
        assert f"{saved}:1:1: {GLASS}: is protected from prune" in res.err
        assert "nothing was written" in res.err and "Traceback" not in res.err
    res = cli("apply", str(ws.root), "--auto-approve", "--force")
    assert res.code == 0, res.out + res.err
    assert expired.writes() == [] and _roles(expired) == ["Admin", "Break Glass"]


# -- a guard refuses its own change, not the plan -----------------------------------------


@pytest.fixture
def manager_added_by_hand(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    """Support was made the client's only manager by hand; the manifests revert that
    (last-manager) and, unrelated, create the Viewers role."""
    sandbox.state["klipfolio"] = {
        "groups": [
            {"id": FINANCE, "name": "Finance", "description": ""},
            {"id": SUPPORT, "name": "Support", "description": ""},
        ],
        "clients": [
            {
                "id": CLIENT,
                "name": "Acme",
                "share_rights": [
                    {"group_id": FINANCE, "can_manage": False},
                    {"group_id": SUPPORT, "can_manage": True},
                ],
            }
        ],
        "roles": [],
    }
    ws.config()
    ws.write(
        "rights.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: KlipfolioClientShareRights
        spec:
          client_id: {CLIENT}
          groups:
            - {{group_id: {FINANCE}, can_manage: false}}
        """,
    )
    ws.write(
        "viewers.yaml",
        """
        apiVersion: reconciler/v1
        kind: KlipfolioRole
        spec: {name: Viewers, description: v, permissions: [klip.email]}
        """,
    )
    return sandbox


def _rights(sandbox: Sandbox) -> list[tuple[str, bool]]:
    (client,) = sandbox.state["klipfolio"]["clients"]
    return sorted((r["group_id"], bool(r["can_manage"])) for r in client["share_rights"])


def _only_the_role_was_written(sandbox: Sandbox, out: str) -> None:
    assert f"refused (guard last-manager)  {RIGHTS}: last-manager: leaves no can_manage" in out
    assert f"applied  {VIEWERS}" in out
    assert out.rstrip("\n").endswith("Apply complete: 1 applied, 0 conflict, 0 failed, 1 refused.")
    assert "Viewers" in _roles(sandbox)
    assert _rights(sandbox) == [(FINANCE, False), (SUPPORT, True)], "the refused change wrote"
    assert all("share-rights" not in r.path for r in sandbox.writes())


def test_apply_with_paths_writes_what_trips_nothing_and_refuses_the_rest(
    manager_added_by_hand: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1, res.out + res.err
    assert "Apply would refuse: 1 change (guards: last-manager 1)" in res.out
    _only_the_role_was_written(manager_added_by_hand, res.out)
    forced = cli("apply", str(ws.root), "--auto-approve", "--force", "--no-color")
    assert forced.code == 0, forced.out + forced.err
    assert _rights(manager_added_by_hand) == [(FINANCE, False)]


def test_apply_of_a_saved_plan_refuses_per_object_too(
    manager_added_by_hand: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    saved = ws.root / "plan.json"
    planned = cli("plan", str(ws.root), "--out", str(saved))
    assert planned.code == 1, "plan fails the check: apply would refuse one change"
    config = str(ws.root / "reconciler.yaml")
    res = cli("apply", str(saved), "--config", config, "--no-color")
    assert res.code == 1, res.out + res.err
    _only_the_role_was_written(manager_added_by_hand, res.out)
    # The role is in place now; the saved plan is stale for it, so plan again and force.
    cli("plan", str(ws.root), "--out", str(saved))
    forced = cli("apply", str(saved), "--config", config, "--force", "--no-color")
    assert forced.code == 0, forced.out + forced.err
    assert _rights(manager_added_by_hand) == [(FINANCE, False)]


def test_safety_still_refuses_the_whole_plan(
    manager_added_by_hand: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(settings="safety: {max_delete_percent: 10, max_update_percent: 30, min_existing: 1}")
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1
    assert "KlipfolioClientShareRights deletes exceed max_delete_percent 10" in res.err
    assert manager_added_by_hand.writes() == []
