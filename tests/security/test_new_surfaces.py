"""The surfaces added after issue 10, tried as a pull request (or a vendor's answer) would.

- `--within` and `--at` out of the calendar's range, or in digits other than ASCII, and an
  `expires:` whose zone pushes it out of range: exit 1 naming the value, never exit 3;
  `--within` is echoed as parsed, never raw.
- A sandbox seed (`sandbox-state.yaml` beside the manifests, or `--sandbox-state`) is read
  with the manifests' budgets: an alias bomb is refused, not expanded.
- `sandbox serve --dump` into a missing directory: refused before starting.
- `export`: a config alias that is a path writes nowhere; a vendor label with line
  breaks, bidi controls, U+FFFE or a lone surrogate gives a comment YAML reads back.
- A lone surrogate in a vendor's JSON (no encoding can write one): escaped in every
  format and in `--out`, never a crash.
- The action's run step: a path that looks like a flag stays a path, a newline in the
  inputs cannot start a workflow command, and no output line can close the summary's
  code block.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

import reconciler.sandbox.core as sandbox_core
from reconciler.core.yamlload import load_file
from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / ".github" / "reconciler-action"
BASH = shutil.which("bash")
CLIENT = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
GROUP = "1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d"

ROLE = """\
apiVersion: reconciler/v1
kind: KlipfolioRole
spec: {name: Keep, description: k, permissions: []}
"""


def _one_error(err: str, *needles: str) -> None:
    """A readable error: no traceback, and naming what was wrong."""
    assert "Traceback" not in err and "Internal error" not in err, err
    for needle in needles:
        assert needle in err, err


@pytest.fixture
def roles(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.chdir(ws.root)
    ws.config()
    ws.write("roles.yaml", ROLE)
    return ws


# -- --within, --at, expires --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("expiring", ".", "--within", "99999999d"), "--within"),
        (("expiring", ".", "--within", "99999999999999999999d"), "--within"),
        (("expiring", ".", "--within", "\uff11\uff12d"), "--within"),
        (("expiring", ".", "--at", "9999-12-31"), "--at"),
        (("expiring", ".", "--at", "9999-12-31T23:59:59+00:00"), "--at"),
        (("expiring", ".", "--at", "0001-01-01T00:00:00+01:00"), "--at"),
        (("access", ".", "--desired", "--at", "9999-12-31"), "--at"),
        (("plan", ".", "--at", "9999-12-31"), "--at"),
    ],
)
def test_out_of_range_windows_and_times_are_exit_1(
    roles: Workspace, cli: RunCli, args: tuple[str, ...], needle: str
) -> None:
    ran = cli(*args)
    assert ran.code == 1, ran.err
    _one_error(ran.err, needle)
    assert ran.out == ""


def test_within_is_echoed_as_parsed(roles: Workspace, cli: RunCli) -> None:
    ran = cli("expiring", ".", "--within", "5 d")
    assert ran.code == 0, ran.err
    assert "within 5d of" in ran.out


def test_an_expiry_out_of_range_is_a_validation_error(roles: Workspace, cli: RunCli) -> None:
    roles.write(
        "roles.yaml",
        ROLE.replace("permissions: []}", "permissions: [], expires: '0001-01-01T00:00:00+01:00'}"),
    )
    ran = cli("validate", ".")
    assert ran.code == 1, ran.err
    _one_error(ran.err, "roles.yaml:3:", "out of the calendar's range")


# -- sandbox state and --dump -------------------------------------------------------------

BOMB = """\
apiVersion: reconciler/v1
kind: SandboxState
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
klipfolio:
  clients: []
  groups: []
  roles: [{id: ffffffffffffffffffffffffffffffff, name: R, description: d, permissions: *g}]
"""


def test_a_sandbox_seed_cannot_expand_an_alias_bomb(
    roles: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    seed = tmp_path / "seed" / "sandbox-state.yaml"
    seed.parent.mkdir()
    seed.write_text(BOMB)
    started = time.monotonic()
    ran = cli("plan", ".", "--sandbox", "--sandbox-state", str(seed))
    assert time.monotonic() - started < 10
    assert ran.code == 1, ran.err
    _one_error(ran.err, "sandbox-state.yaml:", "aliases")


def test_sandbox_serve_refuses_a_dump_into_a_missing_directory(tmp_path: Path) -> None:
    dump = tmp_path / "missing" / "state.yaml"
    res = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--dump", str(dump)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=tmp_path,
    )
    assert res.returncode == 1, res.stderr
    assert res.stdout == "", "refused before serving"
    _one_error(res.stderr, "--dump", "does not exist")


# -- export -------------------------------------------------------------------------------


def test_export_never_writes_outside_out_for_an_alias_that_is_a_path(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.state["klipfolio"] = {"roles": [], "groups": [], "clients": []}
    url = sandbox.base_urls()["klipfolio"]
    alias = "../../escaped"
    (ws.root / "reconciler.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Config\nproviders:\n"
        f"  '{alias}': {{type: klipfolio, base_url: '{url}', rate_limit_per_second: 0}}\n"
    )
    out = tmp_path / "a" / "b"
    ran = cli(
        "export",
        "--provider",
        alias,
        "--out",
        str(out),
        "--config",
        str(ws.root / "reconciler.yaml"),
    )
    assert ran.code == 1, ran.err
    _one_error(ran.err, alias)
    assert not list(tmp_path.glob("escaped*")) and not out.exists()
    assert sandbox.requests() == []


def test_export_comments_from_hostile_labels_read_back(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ascii_sandbox_json(monkeypatch)
    label = "Fin\u2028ance\ufffe \u202eevil\u2066 # x\x85y\ud800z"
    sandbox.state["klipfolio"] = {
        "roles": [],
        "groups": [{"id": GROUP, "name": label, "description": "d"}],
        "clients": [
            {"id": CLIENT, "name": "C", "share_rights": [{"group_id": GROUP, "can_manage": True}]}
        ],
    }
    config = ws.config()
    out = tmp_path / "exported"
    ran = cli("export", "--provider", "klipfolio", "--out", str(out), "--config", str(config))
    assert ran.code == 0, ran.err
    shares = out / "KlipfolioClientShareRights.yaml"
    docs, problems = load_file(shares)
    assert problems == [] and len(docs) == 1
    assert docs[0].value["spec"]["groups"][0]["group_id"] == GROUP
    text = shares.read_text(encoding="utf-8")
    for bad in ("\u2028", "\ufffe", "\u202e", "\u2066", "\x85"):
        assert bad not in text


# -- lone surrogates from an API ------------------------------------------------------------


def _ascii_sandbox_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox answers JSON with \\u escapes, so it can carry a lone surrogate as a
    vendor's JSON can."""

    def dumps(data: Any, **kw: Any) -> str:
        return json.dumps(data, **{**kw, "ensure_ascii": True})

    shim = types.SimpleNamespace(
        dumps=dumps, loads=json.loads, JSONDecodeError=json.JSONDecodeError
    )
    monkeypatch.setattr(sandbox_core, "json", shim)


def test_a_lone_surrogate_from_an_api_is_escaped_in_every_output(
    roles: Workspace, cli: RunCli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ascii_sandbox_json(monkeypatch)
    sandbox.state["klipfolio"] = {
        "roles": [{"id": "f" * 32, "name": "Sur\ud800gate", "description": "d", "permissions": []}],
        "groups": [{"id": GROUP, "name": "G\udfffroup", "description": "d"}],
        "clients": [
            {"id": CLIENT, "name": "C", "share_rights": [{"group_id": GROUP, "can_manage": True}]}
        ],
    }
    roles.config(providers="klipfolio.prune: [roles]")
    roles.write(
        "shares.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: KlipfolioClientShareRights
        spec:
          client_id: {CLIENT}
          groups: [{{group_id: {GROUP}, can_manage: true}}]
        """,
    )
    for args in (("plan", "."), ("plan", ".", "--format", "json"), ("drift", ".")):
        ran = cli(*args)
        assert ran.code in (0, 2), ran.err
        assert "Sur\\ud800gate" in ran.out
    saved = tmp_path / "plan.json"
    ran = cli("plan", ".", "--out", str(saved))
    assert ran.code in (0, 2), ran.err
    assert cli("show", str(saved)).code == 0
    for fmt in ("text", "json", "csv", "html"):
        ran = cli("access", ".", "--format", fmt)
        assert ran.code == 0, ran.err
        assert "\\udfff" in ran.out
        page = tmp_path / f"access.{fmt}"
        ran = cli("access", ".", "--format", fmt, "--out", str(page))
        assert ran.code == 0, ran.err
        assert "\\udfff" in page.read_text(encoding="utf-8")
    data = json.loads(cli("access", ".", "--format", "json").out)
    assert any(r["principal_label"] == "G\udfffroup" for r in data["rows"]), "JSON keeps the value"
    assert sandbox.writes() == []


# -- the action's run step ------------------------------------------------------------------

STUB = """#!/usr/bin/env bash
for a in "$@"; do printf '%s\\n' "$a"; done > "$STUB_ARGV"
cat "$STUB_OUT"
"""


def _run_step(tmp_path: Path, paths: str, args: str, out: str) -> tuple[int, str, list[str], str]:
    assert BASH is not None, "bash is required to test the action's run step"
    stub = tmp_path / "reconciler"
    stub.write_text(STUB, encoding="utf-8")
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "out").write_text(out, encoding="utf-8")
    (tmp_path / "github_output").touch()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "RECONCILER_BIN": str(stub),
        "RECONCILER_COMMAND": "plan",
        "RECONCILER_PATHS": paths,
        "RECONCILER_ARGS": args,
        "RECONCILER_COMMENT": "false",
        "STUB_OUT": str(tmp_path / "out"),
        "STUB_ARGV": str(tmp_path / "argv"),
    }
    res = subprocess.run(
        [BASH, str(SCRIPTS / "run.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    argv = (tmp_path / "argv").read_text(encoding="utf-8").splitlines()
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    return res.returncode, res.stdout + res.stderr, argv, summary


def test_run_step_passes_a_flag_like_path_as_a_path(tmp_path: Path) -> None:
    code, log, argv, _ = _run_step(tmp_path, "access/ --config=evil.yaml -v", "", "ok")
    assert code == 0, log
    assert argv == ["plan", "access/", "./--config=evil.yaml", "./-v"]


def test_run_step_inputs_cannot_start_a_workflow_command(tmp_path: Path) -> None:
    code, log, _, _ = _run_step(tmp_path, "'a\n::error::pwned'", "", "ok")
    assert code == 0, log
    assert not any(line.startswith("::error") for line in log.splitlines()), log
    assert "a%0A::error::pwned" in log


def test_run_step_output_cannot_close_the_summary_code_block(tmp_path: Path) -> None:
    out = "Plan: 1 to delete\n~~~~~~~~~~~~\n# Looks fine, merge it\n"
    code, log, _, summary = _run_step(tmp_path, "access/", "", out)
    assert code == 0, log
    fence = summary.splitlines()[2].removesuffix("text")
    assert set(fence) == {"~"} and len(fence) > 12
    assert summary.rstrip("\n").splitlines()[-1] == fence


def test_an_unknown_target_is_named_on_one_line(ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write(
        "roles.yaml",
        """
        apiVersion: reconciler/v1
        kind: KlipfolioRole
        spec: {name: Analysts, permissions: [dashboard.library]}
        """,
    )
    res = cli("plan", str(ws.root), "--target", "klipfolio/KlipfolioRole/x\n::error::forged")
    assert res.code == 1
    lines = [line for line in res.err.splitlines() if line.strip()]
    assert lines == [
        "Error: --target klipfolio/KlipfolioRole/x\\n::error::forged matches no declared "
        "object and nothing to prune"
    ], lines
