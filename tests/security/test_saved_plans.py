"""Forged saved plans (issue 10, item 5): the checksum proves nothing, so `apply PLAN.json`
checks the plan against the current config and refuses, before any write, a plan that
changes where a credential goes or that the config's prune and protection do not allow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.model import Action, Change, LiveObject
from reconciler.plans import planfile
from reconciler.sandbox import Sandbox
from tests.support.harness import Ran, RunCli, Workspace
from tests.support.plans import write

ADMIN_ID = "1" * 32
VIEWERS_ID = "3" * 32
OLD_ID = "4" * 32
ACME = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"

VIEWERS = """
apiVersion: reconciler/v1
kind: KlipfolioRole
spec: {name: Viewers, description: new, permissions: [klip.email]}
"""


@pytest.fixture
def live(sandbox: Sandbox, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Admin (protected), Viewers (declared, to update) and Old (undeclared); the config
    lives in the current directory, as in a pipeline."""
    sandbox.state["klipfolio"] = {
        "roles": [
            {"id": ADMIN_ID, "name": "Admin", "description": "all", "permissions": ["admin"]},
            {"id": VIEWERS_ID, "name": "Viewers", "description": "old", "permissions": []},
            {"id": OLD_ID, "name": "Old", "description": "x", "permissions": []},
        ],
        "clients": [{"id": ACME, "name": "Acme"}],
    }
    ws.write("roles.yaml", VIEWERS)
    monkeypatch.chdir(ws.root)
    return sandbox


def _plan(ws: Workspace, cli: RunCli, prune: bool = False) -> dict[str, Any]:
    ws.config(providers="klipfolio.prune: [roles]" if prune else "")
    res = cli("plan", str(ws.root), "--out", str(ws.root / "plan.json"))
    assert res.code == 0, res.err
    ws.sandbox.log.clear()  # from here on, what apply sends
    return dict(json.loads((ws.root / "plan.json").read_text()))


def _role(name: str, rid: str, state: dict[str, Any], client: str = "") -> LiveObject:
    return LiveObject((client, name), state, {"id": rid}, scope=client)


def _forge(doc: dict[str, Any], *changes: Change) -> Path:
    """Add hand-made changes the way `plan --out` writes them, and recompute the checksum."""
    doc["changes"] += [planfile._change(c) for c in changes]
    write(Path("."), doc, reseal=True)
    return Path("plan.json")


def _delete(name: str, rid: str, state: dict[str, Any]) -> Change:
    live = _role(name, rid, state)
    return Change(
        Action.DELETE, "KlipfolioRole", "klipfolio", live.identity, None, live, sorted(state)
    )


def _refused(res: Ran, sandbox: Sandbox, *words: str) -> None:
    assert res.code == 1, res.out + res.err
    for word in words:
        assert word in res.err, res.err
    assert "Traceback" not in res.err
    assert [r for r in sandbox.log if r.method != "GET"] == [], "a refused plan wrote"


ADMIN_STATE = {"description": "all", "permissions": ["admin"]}


@pytest.mark.parametrize("force", [False, True], ids=["", "even-with-force"])
def test_forged_delete_of_the_protected_admin_role_is_refused(
    live: Sandbox, ws: Workspace, cli: RunCli, force: bool
) -> None:
    doc = _plan(ws, cli, prune=True)
    plan = _forge(doc, _delete("Admin", ADMIN_ID, ADMIN_STATE))
    res = cli("apply", str(plan), *(["--force"] if force else []))
    _refused(res, live, "klipfolio/KlipfolioRole/Admin", "protected")
    assert "Admin" in {r["name"] for r in live.state["klipfolio"]["roles"]}
    assert live.log == [], "refused before any request"


def test_forged_update_of_the_protected_admin_role_is_refused(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    doc = _plan(ws, cli)
    admin = _role("Admin", ADMIN_ID, ADMIN_STATE)
    change = Change(
        Action.UPDATE,
        "KlipfolioRole",
        "klipfolio",
        admin.identity,
        {"description": "all", "permissions": []},
        admin,
        ["description", "permissions"],
    )
    res = cli("apply", str(_forge(doc, change)), "--force")
    _refused(res, live, "klipfolio/KlipfolioRole/Admin", "protected")


def test_a_delete_naming_one_role_by_the_vendor_id_of_another_is_refused(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # "Old" may be pruned, but the id the plan gives for it is the Admin role's.
    doc = _plan(ws, cli, prune=True)
    res = cli("apply", str(_forge(doc, _delete("Old", ADMIN_ID, ADMIN_STATE))))
    _refused(res, live, "klipfolio/KlipfolioRole/Old", "klipfolio/KlipfolioRole/Admin")
    assert len(live.state["klipfolio"]["roles"]) == 3


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            _delete("Old", OLD_ID, {"description": "x", "permissions": []}),
            ["klipfolio/KlipfolioRole/Old", "does not list 'roles' under prune"],
        ),
        (
            Change(
                Action.DELETE,
                "KlipfolioClientShareRights",
                "klipfolio",
                (ACME,),
                None,
                LiveObject((ACME,), {"groups": {}}, scope=ACME),
                ["groups"],
                scope=ACME,
            ),
            [f"klipfolio/KlipfolioClientShareRights/{ACME}", "never deleted as an object"],
        ),
        (
            Change(
                Action.DELETE,
                "GolemPermissionShare",
                "klipfolio",
                ("6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11", "ops"),
                None,
                LiveObject(("6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11", "ops"), {}, {"id": "x"}),
                [],
            ),
            ["GolemPermissionShare is not a kind of a klipfolio provider"],
        ),
        (
            Change(
                Action.DELETE,
                "KlipfolioRole",
                "klipfolio",
                ("Old",),
                None,
                LiveObject(("Old",), {}, {"id": OLD_ID}),
                [],
            ),
            ["does not have the shape of a KlipfolioRole"],
        ),
    ],
    ids=["kind-not-pruned", "share-list-kind", "kind-of-another-vendor", "identity-shape"],
)
def test_forged_change_the_config_does_not_allow_is_refused(
    live: Sandbox, ws: Workspace, cli: RunCli, change: Change, words: list[str]
) -> None:
    doc = _plan(ws, cli)  # no prune in the current config
    res = cli("apply", str(_forge(doc, change)), "--force")
    _refused(res, live, *words)
    assert len(live.state["klipfolio"]["roles"]) == 3


def test_credential_env_swapped_to_another_vendors_variable_is_refused(
    live: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    golem_token = "golem-admin-token-that-must-stay-home-5521"
    monkeypatch.setenv("GOLEM_TOKEN", golem_token)
    doc = _plan(ws, cli)
    doc["providers"][0]["credential_env"] = "GOLEM_TOKEN"
    res = cli("apply", str(_forge(doc)))
    _refused(res, live, "provider 'klipfolio'", "GOLEM_TOKEN", "KLIPFOLIO_API_KEY")
    assert live.log == [], "refused before any request"
    assert not any(golem_token in str(r.headers) for r in live.log)


def test_base_url_changed_to_another_server_is_refused(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    doc = _plan(ws, cli)
    with Sandbox() as elsewhere:  # a loopback server the pull request controls
        doc["providers"][0]["base_url"] = elsewhere.base_urls()["klipfolio"]
        res = cli("apply", str(_forge(doc)))
        assert elsewhere.log == [], "a request went to the plan's host"
    _refused(res, live, "provider 'klipfolio'", "base_url")


def test_the_config_beside_the_plan_is_not_the_current_config(
    live: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    doc = _plan(ws, cli)
    monkeypatch.chdir(tmp_path)  # no reconciler.yaml here: the defaults apply
    write(tmp_path, doc)
    res = cli("apply", "plan.json")
    _refused(res, live, "provider 'klipfolio'", "app.klipfolio.com")


def test_a_plan_without_its_live_counts_still_meets_the_safety_thresholds(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(
        providers="klipfolio.prune: [roles]\nklipfolio.protected_roles: []",
        settings="safety: {max_delete_percent: 30, max_update_percent: 30, min_existing: 1}",
    )
    ws.write("roles.yaml", VIEWERS.replace("new", "old").replace("klip.email", ""))
    res = cli("plan", str(ws.root), "--out", "plan.json")
    # Over a threshold already: plan fails the check, and still saves the plan.
    assert res.code == 1 and "Apply would refuse: 2 changes (safety: 2 of 3" in res.out
    live.log.clear()
    doc = json.loads(Path("plan.json").read_text())
    assert doc["summary"] == {"create": 0, "update": 0, "replace": 0, "delete": 2}
    doc["existing"] = []  # without a count, today's check skipped the thresholds
    res = cli("apply", str(_forge(doc)))
    _refused(res, live, "KlipfolioRole deletes exceed max_delete_percent 30")
    forced = cli("apply", "plan.json", "--force")
    assert forced.code == 0, forced.out + forced.err


@pytest.mark.parametrize("prune", [False, True], ids=["update", "update-and-prune"])
def test_an_honest_plan_still_applies(
    live: Sandbox, ws: Workspace, cli: RunCli, prune: bool
) -> None:
    _plan(ws, cli, prune=prune)
    res = cli("apply", "plan.json")
    assert res.code == 0, res.out + res.err
    names = {r["name"] for r in live.state["klipfolio"]["roles"]}
    assert names == ({"Admin", "Viewers"} if prune else {"Admin", "Viewers", "Old"})
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0
