"""What other tools read from this repository: the pre-commit hook and the schemas' URLs."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

import reconciler

ROOT = Path(__file__).resolve().parents[2]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
SCHEMAS = sorted(
    [
        *(ROOT / "reconciler" / "_schemas").glob("*.json"),
        *ROOT.glob("reconciler/vendors/*/schemas/*.json"),
    ]
)


def test_pre_commit_hook_passes_pre_commits_own_manifest_schema() -> None:
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(HOOKS))  # raises InvalidManifestError on a bad field
    assert hook["id"] == "reconciler-validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False and hook["args"] == ["."]
    assert re.search(hook["files"], "access/klipfolio/roles.yaml")
    assert not re.search(hook["files"], "README.md")


def test_pre_commit_hook_rejects_a_broken_manifest(tmp_path: Path) -> None:
    """Guards the check above against a loader that accepts anything."""
    from pre_commit.clientlib import InvalidManifestError, load_manifest

    bad = tmp_path / "hooks.yaml"
    bad.write_text(yaml.safe_dump([{"id": "x", "name": "x", "entry": "x"}]), encoding="utf-8")
    try:
        load_manifest(str(bad))
    except InvalidManifestError:
        return
    raise AssertionError("a hook without `language` was accepted")


def test_pre_commit_hook_entry_validates_a_workspace(tmp_path: Path) -> None:
    """The hook's entry and args, as pre-commit runs them in an access repository (the
    command from the installed package, the repository's root as the directory)."""
    (hook,) = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    words = shlex.split(hook["entry"]) + hook["args"]
    assert words[0] == "reconciler"
    workspace = tmp_path / "access-repo"
    (workspace / "klipfolio").mkdir(parents=True)
    (workspace / "reconciler.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Config\nproviders:\n  klipfolio: {type: klipfolio}\n",
        encoding="utf-8",
    )
    role = workspace / "klipfolio" / "roles.yaml"
    role.write_text(
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        "spec: {name: Finance, permissions: [dashboard.klip]}\n",
        encoding="utf-8",
    )
    run = [sys.executable, "-m", "reconciler", *words[1:], "--no-color"]
    ok = subprocess.run(run, cwd=workspace, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    role.write_text(role.read_text(encoding="utf-8").replace("name: Finance, ", ""))
    bad = subprocess.run(run, cwd=workspace, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "roles.yaml:" in bad.stdout + bad.stderr


def test_every_schema_id_is_its_stable_url_at_this_release() -> None:
    """`# yaml-language-server: $schema=<$id>` resolves to the file of this release's tag
    (raw file URLs do not follow the `schemas` link, so the real path)."""
    assert SCHEMAS
    for path in SCHEMAS:
        schema = json.loads(path.read_text(encoding="utf-8"))
        rel = path.relative_to(ROOT).as_posix()
        expected = (
            f"https://raw.githubusercontent.com/OWNER/reconciler/v{reconciler.__version__}/{rel}"
        )
        assert schema["$id"] == expected, rel


def test_no_schema_description_cites_the_spec() -> None:
    for path in SCHEMAS:
        assert "SPEC" not in path.read_text(encoding="utf-8"), path.name
