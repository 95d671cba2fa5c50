"""`--provider ALIAS`: one vendor account per run (a CI matrix job), no call to the others."""

from __future__ import annotations

import json

import pytest

from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace
from tests.vendors.golem.test_provider import OWNER, T1, T2, live, manifest

ROLE = "apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec: {name: Viewers, permissions: []}\n"


@pytest.fixture
def two(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    sandbox.state["golem"] = {
        "accounts": [OWNER, T1, T2],
        "shares": [live("11111111-1111-4111-8111-111111111111", OWNER, "ops", T2)],
    }
    sandbox.state["klipfolio"] = {"roles": []}
    ws.config()
    ws.write("g.yaml", manifest("ops", T1))
    ws.write("k.yaml", ROLE)
    return sandbox


def vendors(sandbox: Sandbox) -> set[str]:
    return {r.vendor for r in sandbox.log}


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_plan_and_drift_read_only_the_named_provider(
    two: Sandbox, ws: Workspace, cli: RunCli, command: str
) -> None:
    res = cli(command, str(ws.root), "--provider", "klipfolio", "--no-color")
    assert res.code in (0, 2), res.err
    assert "klipfolio/KlipfolioRole/Viewers" in res.out and "golem" not in res.out
    assert vendors(two) == {"klipfolio"}
    both = cli(command, str(ws.root), "--provider", "klipfolio", "--provider", "golem")
    assert "golem/GolemPermissionShare" in both.out and "klipfolio/" in both.out


def test_unknown_alias_is_an_error_naming_the_known_ones(
    two: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    for command in (["plan"], ["drift"], ["apply", "--auto-approve"]):
        res = cli(*command, str(ws.root), "--provider", "klipfolo")
        assert res.code == 1, (command, res.out)
        assert "'klipfolo'" in res.err
        assert "bitsight, golem, klipfolio, salesforce" in res.err
    assert two.log == []


def test_apply_writes_only_the_named_provider(two: Sandbox, ws: Workspace, cli: RunCli) -> None:
    res = cli("apply", str(ws.root), "--provider", "klipfolio", "--auto-approve", "--no-color")
    assert res.code == 0, res.err
    assert "Apply complete: 1 applied" in res.out
    assert vendors(two) == {"klipfolio"}
    assert {r.vendor for r in two.writes()} == {"klipfolio"}


def test_saved_plan_applies_only_the_named_providers_changes(
    two: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    out = ws.root / "plan.json"
    assert cli("plan", str(ws.root), "--out", str(out)).code == 0
    doc = json.loads(out.read_text())
    assert {c["provider"] for c in doc["changes"]} == {"golem", "klipfolio"}
    two.log.clear()
    cfg = str(ws.root / "reconciler.yaml")
    res = cli("apply", str(out), "--config", cfg, "--provider", "golem")
    assert res.code == 0, res.err
    assert "Apply complete: 1 applied, 0 conflict, 0 failed." in res.out
    assert vendors(two) == {"golem"}
    assert two.state["klipfolio"]["roles"] == []

    bad = cli("apply", str(out), "--config", cfg, "--provider", "nope")
    assert bad.code == 1 and "'nope'" in bad.err and "golem, klipfolio" in bad.err

    # The rest of the same plan, later (a second matrix job).
    rest = cli("apply", str(out), "--config", cfg, "--provider", "klipfolio")
    assert rest.code == 0, rest.err
    assert [r["name"] for r in two.state["klipfolio"]["roles"]] == ["Viewers"]
