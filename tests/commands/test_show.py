"""`reconciler show PLAN.json`: a saved plan reviewed offline, in each format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.plans import planfile
from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace

VIEWERS = """
apiVersion: reconciler/v1
kind: KlipfolioRole
spec: {name: Viewers, description: new, permissions: [klip.email]}
---
apiVersion: reconciler/v1
kind: KlipfolioRole
spec: {name: Editors, description: edits, permissions: [klip.edit]}
"""


@pytest.fixture
def saved(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A plan saved by `plan --out` (one update, one create); then the current directory
    has no config and no credential is set, and the sandbox log is empty."""
    sandbox.state["klipfolio"] = {
        "roles": [{"id": "3" * 32, "name": "Viewers", "description": "old", "permissions": []}]
    }
    ws.config()
    ws.write("roles.yaml", VIEWERS)
    path = tmp_path / "plan.json"
    res = cli("plan", str(ws.root), "--out", str(path))
    assert res.code == 0, res.err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("KLIPFOLIO_API_KEY")
    sandbox.log.clear()
    return path, res.out


def test_text_shows_the_plan_as_plan_did(
    saved: tuple[Path, str], cli: RunCli, sandbox: Sandbox
) -> None:
    path, planned = saved
    res = cli("show", str(path))
    assert res.code == 0, res.err
    assert res.out == planned.split("Saved the plan to")[0]
    assert "~ klipfolio/KlipfolioRole/Viewers" in res.out
    assert 'description: "old" -> "new"' in res.out
    assert "Plan: 1 to create, 1 to update, 0 to replace, 0 to delete." in res.out
    assert sandbox.log == []


def test_json_is_the_plan_file(saved: tuple[Path, str], cli: RunCli, sandbox: Sandbox) -> None:
    path, _ = saved
    res = cli("show", str(path), "--format", "json")
    assert res.code == 0, res.err
    assert json.loads(res.out) == json.loads(path.read_text())
    assert sandbox.log == []


def test_markdown_is_for_a_pull_request(
    saved: tuple[Path, str], cli: RunCli, sandbox: Sandbox
) -> None:
    path, _ = saved
    res = cli("show", str(path), "--format", "markdown")
    assert res.code == 0, res.err
    assert "### reconciler plan" in res.out and "<details>" in res.out
    assert "klipfolio/KlipfolioRole/Editors" in res.out
    assert sandbox.log == []


@pytest.mark.parametrize(
    "content, says",
    [
        ("{not json", "not a plan file (invalid JSON"),
        ('{"format_version": 1}', None),
        ("edited", "checksum mismatch"),
        ("\udcff", "not a plan file (not UTF-8"),
    ],
)
def test_a_malformed_plan_is_one_line_naming_the_file(
    saved: tuple[Path, str], cli: RunCli, sandbox: Sandbox, content: str, says: str | None
) -> None:
    path, _ = saved
    if content == "edited":
        doc = json.loads(path.read_text())
        doc["digest"] = "sha256:" + "0" * 64
        path.write_text(json.dumps(doc))
    elif content == "\udcff":
        path.write_bytes(b"\xff\xfe{}")
    else:
        path.write_text(content)
    res = cli("show", str(path), "--format", "text")
    assert res.code == 1, res.err
    assert res.out == ""
    (line,) = res.err.splitlines()
    assert line.startswith(f"Error: {path}")
    assert says is None or says in line
    assert sandbox.log == []


def test_a_missing_plan_file_is_named(tmp_path: Path, cli: RunCli) -> None:
    res = cli("show", str(tmp_path / "nope.json"))
    assert res.code == 1
    assert res.err.startswith(f"Error: {tmp_path / 'nope.json'}: cannot read the plan file")


def test_a_plan_loaded_back_renders_like_the_one_written(saved: tuple[Path, str]) -> None:
    path, _ = saved
    plan = planfile.loads(path.read_text(), str(path))
    assert planfile.dumps(plan) == path.read_text()
