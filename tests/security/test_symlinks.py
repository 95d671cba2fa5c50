"""Outputs never follow a symlink; manifests and config reached through a link that points
outside the workspace are refused without showing the target's content.

A pull request's files sit in the checkout the tool runs in, so any path there may be a
link the pull request committed: at `plan --out plan.json`, at a file `export` writes, at
the sandbox's state file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace

BASH = shutil.which("bash")
ROLE = """\
apiVersion: reconciler/v1
kind: KlipfolioRole
provider: klipfolio
spec:
  name: Reviewers
  description: {description}
  permissions: [dashboard.klip]
"""


def _refused(res: object, name: str) -> None:
    code, err = res.code, res.err  # type: ignore[attr-defined]
    assert code == 1, err
    assert name in err and "symbolic link" in err, err
    assert "Traceback" not in err


# --- the critical one: the plan written into the script that runs it -------------------


def test_plan_out_through_a_link_to_the_running_script_is_refused(tmp_path: Path) -> None:
    """The apply template ran `plan --out plan.json` in the checkout; a pull request
    committed plan.json as a link to the action's run.sh. The plan was written into the
    script bash was executing, bash read on at its old offset, inside a role description
    the pull request wrote, and ran it with every credential in its environment."""
    assert BASH, "bash is required"
    checkout = tmp_path / "checkout"
    action = checkout / ".github" / "reconciler-action"
    action.mkdir(parents=True)
    marker = tmp_path / "stolen"
    script = action / "run.sh"
    # Like the real run.sh: a header of comments, then the command. Bash goes on reading
    # the file at the offset just past that line once the command returns.
    header = "#!/usr/bin/env bash\n" + ("# " + "x" * 76 + "\n") * 20
    script.write_text(
        header + '"$RECONCILER_PYTHON" -P -m reconciler plan access/ --sandbox --out plan.json '
        "--no-color >/dev/null 2>&1\n"
        'echo "plan step exit $?"\n'
        "exit 0\n"
    )
    original = script.read_bytes()
    access = checkout / "access"
    access.mkdir()
    # A sled of spaces long enough that the plan file holds it at that offset, then the
    # payload: every credential in the step's environment, written where the PR can get it.
    payload = " " * 3000 + f"true; printenv KLIPFOLIO_API_KEY > {marker}; exit 0 #"
    (access / "roles.yaml").write_text(ROLE.format(description=f"'{payload}'"))
    (checkout / "plan.json").symlink_to(Path(".github/reconciler-action/run.sh"))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "RECONCILER_PYTHON": sys.executable,
        "KLIPFOLIO_API_KEY": "the-admin-key-of-production",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    res = subprocess.run(
        [BASH, str(script)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert not marker.exists(), f"the payload ran: {marker.read_text()!r}\n{res.stdout}"
    assert script.read_bytes() == original, "the running script was overwritten"
    assert (checkout / "plan.json").is_symlink()
    assert "plan step exit 1" in res.stdout, res.stdout + res.stderr


# --- the other outputs ----------------------------------------------------------------


def test_plan_out_through_a_dangling_link_is_refused(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    ws.config()
    ws.write("roles.yaml", ROLE.format(description="ok"))
    link = tmp_path / "plan.json"
    link.symlink_to(tmp_path / "home" / ".bash_profile")
    res = cli("plan", str(ws.root), "--out", str(link))
    _refused(res, str(link))
    assert not (tmp_path / "home").exists()
    assert sandbox.writes() == []


def test_access_out_through_a_link_is_refused(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    ws.config()
    ws.write("roles.yaml", ROLE.format(description="ok"))
    victim = tmp_path / "victim.sh"
    victim.write_text("echo untouched\n")
    link = tmp_path / "access.html"
    link.symlink_to(victim)
    res = cli("access", str(ws.root), "--out", str(link))
    _refused(res, str(link))
    assert victim.read_text() == "echo untouched\n"
    assert sandbox.writes() == []


def _export(cli: RunCli, ws: Workspace, out: Path, *extra: str) -> object:
    config = str(ws.root / "reconciler.yaml")
    return cli(
        "export", "--config", config, "--provider", "klipfolio", "--kind", "KlipfolioRole",
        "--out", str(out), *extra,
    )  # fmt: skip


def _seed_role(sandbox: Sandbox) -> None:
    sandbox.state["klipfolio"] = {
        "roles": [{"id": "1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d", "name": "Finance", "description": "x"}]
    }


def test_export_through_a_dangling_link_needs_force_and_then_replaces_the_link(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    _seed_role(sandbox)
    ws.config()
    out = tmp_path / "access"
    out.mkdir()
    home = tmp_path / "home"
    link = out / "KlipfolioRole.yaml"
    link.symlink_to(home / ".bash_profile")  # dangling: `exists()` says False
    res = _export(cli, ws, out)
    assert res.code == 1, res.err  # type: ignore[attr-defined]
    assert str(link) in res.err and "--force" in res.err  # type: ignore[attr-defined]
    assert not home.exists(), "written through the dangling link"
    assert sandbox.log == [], "refused before any request"
    forced = _export(cli, ws, out, "--force")
    assert forced.code == 0, forced.err  # type: ignore[attr-defined]
    assert not link.is_symlink() and "kind: KlipfolioRole" in link.read_text()
    assert not home.exists(), "the link's target is never written"
    assert sandbox.writes() == []


def test_export_with_force_replaces_a_link_never_its_target(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    _seed_role(sandbox)
    ws.config()
    out = tmp_path / "access"
    out.mkdir()
    victim = tmp_path / "run.sh"
    victim.write_text("echo untouched\n")
    (out / "KlipfolioRole.yaml").symlink_to(victim)
    res = _export(cli, ws, out, "--force")
    assert res.code == 0, res.err  # type: ignore[attr-defined]
    assert victim.read_text() == "echo untouched\n"
    assert not (out / "KlipfolioRole.yaml").is_symlink()


def test_export_into_a_linked_directory_is_refused_even_with_force(
    sandbox: Sandbox,
    ws: Workspace,
    cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed_role(sandbox)
    ws.config()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "linked").symlink_to(elsewhere)
    monkeypatch.chdir(checkout)
    for out, named in ((Path("linked"), "linked"), (Path("linked/sub"), "linked")):
        res = _export(cli, ws, out, "--force")
        assert res.code == 1, res.err  # type: ignore[attr-defined]
        assert named in res.err and "symbolic link" in res.err  # type: ignore[attr-defined]
        assert list(elsewhere.iterdir()) == []
    assert sandbox.log == []


def test_dump_through_a_link_is_refused_at_once(tmp_path: Path, cli: RunCli) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    link = tmp_path / "dump.yaml"
    link.symlink_to(victim)
    res = cli("sandbox", "serve", "--port", "0", "--dump", str(link))
    _refused(res, str(link))
    assert victim.read_text() == "keep\n"


def test_sandbox_session_state_through_a_link_is_refused(
    ws: Workspace, cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`apply --sandbox` keeps its state in .reconciler/ under the current directory: a
    pull request can commit that directory as a link."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / ".reconciler").symlink_to(elsewhere)
    (checkout / "roles.yaml").write_text(ROLE.format(description="ok"))
    monkeypatch.chdir(checkout)
    res = cli("apply", ".", "--sandbox", "--auto-approve", "--no-color")
    assert res.code == 1, res.out + res.err
    assert ".reconciler" in res.err and "symbolic link" in res.err, res.err
    assert "applied" not in res.out, "refused before the command ran"
    assert list(elsewhere.iterdir()) == []


# --- manifests and config through links --------------------------------------------------

SECRETS = textwrap.dedent(
    """\
    apiVersion: AKIAIOSFODNN7EXAMPLE
    aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
    """
)


def _secret_file(tmp_path: Path) -> Path:
    secret = tmp_path / "home" / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_text(SECRETS)
    return secret


def _no_secret(text: str) -> None:
    assert "AKIAIOSFODNN7EXAMPLE" not in text and "wJalrXUtnFEMI" not in text, text


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_a_manifest_linked_outside_the_workspace_is_refused_unread(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path, fmt: str
) -> None:
    ws.config()
    ws.write("roles.yaml", ROLE.format(description="ok"))
    link = ws.root / "team" / "stolen.yaml"
    link.parent.mkdir()
    link.symlink_to(_secret_file(tmp_path))
    res = cli("validate", str(ws.root), "--format", fmt)
    assert res.code == 1, res.out + res.err
    _no_secret(res.out + res.err)
    shown = res.out + res.err
    assert str(link) in shown and "outside the workspace" in shown, shown
    assert sandbox.log == []


def test_a_file_path_linked_outside_its_directory_is_refused(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    ws.config()
    link = ws.root / "roles.yaml"
    link.symlink_to(_secret_file(tmp_path))
    res = cli("plan", str(link))
    assert res.code == 1
    _no_secret(res.out + res.err)
    assert f"{link}:1:1:" in res.err and "outside the workspace" in res.err, res.err
    assert sandbox.log == []


def test_a_config_linked_outside_the_workspace_is_refused_unread(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    ws.write("roles.yaml", ROLE.format(description="ok"))
    config = ws.root / "reconciler.yaml"
    config.symlink_to(_secret_file(tmp_path))
    for args in (
        ("validate", str(ws.root)),
        ("validate", str(ws.root), "--format", "github"),
        ("plan", str(ws.root), "--format", "markdown"),
    ):
        res = cli(*args)
        assert res.code == 1, res.out + res.err
        _no_secret(res.out + res.err)
        assert str(config) in res.out + res.err
        assert "outside" in res.out + res.err
    assert sandbox.log == []


def test_links_inside_the_workspace_still_work(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    real = ws.config()
    shared = ws.write(".shared/roles.yaml", ROLE.format(description="ok"))  # hidden: unscanned
    (ws.root / "roles.yaml").symlink_to(Path(".shared/roles.yaml"))
    moved = ws.root / "conf" / "reconciler.yaml"
    moved.parent.mkdir()
    real.rename(moved)
    (ws.root / "reconciler.yaml").symlink_to(Path("conf/reconciler.yaml"))
    res = cli("plan", str(ws.root), "--detailed-exitcode")
    assert res.code == 2, res.err
    assert "Reviewers" in res.out and shared.is_file()
