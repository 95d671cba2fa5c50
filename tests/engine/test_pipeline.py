"""GitOps pipelines: saved plans, stale-plan refusal, drift, markdown, export."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reconciler.core.model import Action, Change, Ignored, LiveObject, Plan
from reconciler.input.schemas import SCHEMA_DIR
from reconciler.render.markdown import LIMIT, render_markdown
from reconciler.sandbox import Sandbox
from reconciler.sandbox.contract import VendorCase
from tests.plugin.test_contract import CASES
from tests.support.harness import RunCli, Workspace
from tests.vendors.klipfolio.test_provider import ROLES


@pytest.fixture
def roles(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    sandbox.state["klipfolio"] = {
        "roles": [
            {
                "id": "3" * 32,
                "name": "Viewers",
                "description": "old",
                "permissions": ["klip.email"],
            },
        ],
        "clients": [{"id": "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c", "name": "Acme"}],
    }
    ws.config()
    ws.write("roles.yaml", ROLES)
    return sandbox


def test_saved_plan_applies_when_live_state_is_unchanged(
    roles: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    out = ws.root / "plan.json"
    res = cli("plan", str(ws.root), "--out", str(out))
    assert res.code == 0 and out.is_file()
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads((SCHEMA_DIR / "plan.schema.json").read_text()))
    assert doc["summary"] == {"create": 2, "update": 1, "replace": 0, "delete": 0}
    update = next(c for c in doc["changes"] if c["action"] == "update")
    assert update["fingerprint"].startswith("sha256:") and update["live"]["state"]
    applied = cli("apply", str(out), "--config", str(ws.root / "reconciler.yaml"))
    assert applied.code == 0, applied.out + applied.err
    assert "Apply complete: 3 applied, 0 conflict, 0 failed." in applied.out
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_saved_plan_is_refused_whole_after_an_out_of_band_change(
    roles: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    out = ws.root / "plan.json"
    cli("plan", str(ws.root), "--out", str(out))
    roles.state["klipfolio"]["roles"][0]["description"] = "changed by hand"
    roles.state["klipfolio"]["roles"].append(
        {"id": "4" * 32, "name": "Analysts", "permissions": []}
    )
    res = cli("apply", str(out), "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 1
    assert "plan is stale: run plan again" in res.err
    assert "klipfolio/KlipfolioRole/Viewers" in res.err
    assert "klipfolio/KlipfolioRole/Analysts" in res.err and "now exists" in res.err
    assert roles.writes() == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["changes"][0].update(action="delete"), "modified after it was written"),
        (lambda d: d.update(tool_version="0.0.1"), "made by reconciler 0.0.1"),
        (lambda d: d.update(format_version=99), "plan format 99 is not supported"),
    ],
)
def test_tampered_or_foreign_plan_is_refused(
    roles: Sandbox,
    ws: Workspace,
    cli: RunCli,
    edit: Callable[[dict[str, Any]], object],
    message: str,
) -> None:
    out = ws.root / "plan.json"
    cli("plan", str(ws.root), "--out", str(out))
    doc = json.loads(out.read_text())
    edit(doc)
    out.write_text(json.dumps(doc))
    res = cli("apply", str(out))
    assert res.code == 1 and message in res.err and str(out) in res.err
    assert roles.writes() == []


def test_corrupt_plan_file_is_refused(roles: Sandbox, ws: Workspace, cli: RunCli) -> None:
    out = ws.root / "plan.json"
    out.write_text('{"format_version": 1, "changes": [')
    res = cli("apply", str(out))
    assert res.code == 1 and "not a plan file" in res.err
    assert roles.log == []


def test_plan_file_holds_no_credential(
    roles: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-klipfolio-value-8472"
    roles.vendors["klipfolio"].state["credential"] = secret
    monkeypatch.setenv("KLIPFOLIO_API_KEY", secret)
    out = ws.root / "plan.json"
    res = cli("plan", str(ws.root), "--out", str(out), "-v")
    assert res.code == 0, res.err
    assert secret not in out.read_text() + res.out + res.err
    assert "KLIPFOLIO_API_KEY" in out.read_text()


def test_drift_exit_codes_and_json(roles: Sandbox, ws: Workspace, cli: RunCli) -> None:
    drifted = cli("drift", str(ws.root), "--format", "json")
    assert drifted.code == 2
    report = json.loads(drifted.out)
    assert report["in_sync"] is False
    viewers = next(
        d for d in report["drifted"] if d["address"] == "klipfolio/KlipfolioRole/Viewers"
    )
    (desc,) = [f for f in viewers["fields"] if f["field"] == "description"]
    assert (desc["before"], desc["after"]) == ("old", "v")
    assert desc["diff"] == [{"path": "description", "before": "old", "after": "v"}]
    cli("apply", str(ws.root), "--auto-approve")
    clean = cli("drift", str(ws.root))
    assert clean.code == 0 and "No drift: live state matches the manifests." in clean.out
    md = cli("drift", str(ws.root), "--format", "markdown")
    assert md.code == 0 and "### reconciler drift" in md.out
    roles.faults.append(__import__("reconciler.sandbox", fromlist=["Fault"]).Fault("500", times=9))
    broken = cli("drift", str(ws.root))
    assert broken.code == 1 and "Error:" in broken.err


def test_markdown_of_a_5000_change_plan_stays_under_the_cap() -> None:
    changes = [
        Change(
            Action.UPDATE if i % 2 else Action.CREATE,
            "KlipfolioRole",
            "klipfolio",
            ("", f"role-{i:05d}"),
            {"description": "new " * 10, "permissions": ["klip.edit", "tab.share"]},
            LiveObject(("", f"role-{i:05d}"), {"description": "old", "permissions": []})
            if i % 2
            else None,
            ["description", "permissions"],
        )
        for i in range(5000)
    ]
    text = render_markdown(Plan(changes, [], "d"), "Plan")
    assert len(text) < LIMIT
    assert "| klipfolio | KlipfolioRole | 2500 | 2500 | 0 | 0 |" in text
    assert "changes not shown" in text and "of 5000 changes not shown" in text
    assert text.count("<details>") == text.count("</details>") > 10


def test_markdown_plan_has_summary_table_and_sections(
    roles: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    res = cli("plan", str(ws.root), "--format", "markdown")
    assert res.code == 0
    assert "**Plan: 2 to create, 1 to update, 0 to replace, 0 to delete.**" in res.out
    assert "| klipfolio | KlipfolioRole | 2 | 1 | 0 | 0 |" in res.out
    assert "<summary><code>~ klipfolio/KlipfolioRole/Viewers</code></summary>" in res.out
    assert "\x1b[" not in res.out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.vendor)
def test_export_then_plan_is_empty(
    case: VendorCase, sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    sandbox.state[case.vendor] = copy.deepcopy(case.state)
    ws.config(providers=case.config)
    out = tmp_path / "exported"
    args = ["export", "--config", str(ws.root / "reconciler.yaml"), "--provider", case.vendor]
    if case.vendor == "golem":
        for acc in sorted({s["ownerAccountId"] for s in case.state["shares"]}):
            args += ["--scope", acc]
    res = cli(*args, "--out", str(out))
    assert res.code == 0, res.err
    assert sorted(p.name for p in out.iterdir())
    (out / "reconciler.yaml").write_text((ws.root / "reconciler.yaml").read_text())
    again = cli("plan", str(out), "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert sandbox.writes() == []
    # A second export into the same directory would overwrite: refused without --force.
    refused = cli(*args, "--out", str(out))
    assert refused.code == 1 and "would overwrite" in refused.err
    assert cli(*args, "--out", str(out), "--force").code == 0


def test_markdown_stays_under_the_cap_with_long_ignored_and_protected_lists() -> None:
    changes = [
        Change(
            Action.CREATE,
            "KlipfolioRole",
            "klipfolio",
            ("", f"role-{i:05d}"),
            {"description": "new " * 10, "permissions": ["klip.edit"]},
            None,
            ["description", "permissions"],
        )
        for i in range(3000)
    ]
    plan = Plan(changes, [], "d")
    plan.ignored = [
        Ignored(
            f"klipfolio/KlipfolioRole/r{i}", "object (update)", "o@x", "why " * 20, "2027-01-01"
        )
        for i in range(2000)
    ]
    plan.protected = [f"golem/GolemPermissionShare/o/break-glass-{i}" for i in range(2000)]
    text = render_markdown(plan, "Plan")
    assert len(text) < LIMIT
    assert "**Ignored: 2000 entries not shown**" in text
    assert "**Protected from prune: 2000 entries not shown**" in text
