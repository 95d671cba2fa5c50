"""A team's first day (issue 20): `init` and `demo` from any directory, offline commands that
need no pipeline environment, no manifests is an error, and the CLI's paper cuts."""

from __future__ import annotations

import filecmp
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from reconciler.cli import _main
from reconciler.commands import demo
from reconciler.core import clock
from tests.support.harness import RunCli, Workspace

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
HOST_VARS = ("RECONCILER_ALLOW_HOSTS", "RECONCILER_SALESFORCE_BASE_URL", "RECONCILER_POLICY")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = _main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory and an environment without the pipeline's settings."""
    for var in HOST_VARS:
        monkeypatch.delenv(var, raising=False)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


# -- the example workspace shipped in the package ------------------------------------------


def _tree(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def test_the_packaged_example_workspace_is_the_repositorys_examples() -> None:
    """One source of truth: reconciler/examples/ is a copy of examples/ (minus deploy/ and
    the seed's link), kept the same by this test."""
    packaged = _tree(demo.EXAMPLES)
    source = [
        f for f in _tree(EXAMPLES) if not f.startswith("deploy/") and f != "sandbox-state.yaml"
    ]
    assert packaged == source, "copy examples/ to reconciler/examples/ (see this test)"
    differ = [f for f in packaged if not filecmp.cmp(demo.EXAMPLES / f, EXAMPLES / f, False)]
    assert differ == [], f"edit both copies, or copy examples/{differ[0]} over"


# -- demo -------------------------------------------------------------------------------------


def _demo(capsys: pytest.CaptureFixture[str], now: datetime) -> str:
    with clock.frozen(now):
        code, out, err = run(capsys, "demo", "--no-color")
    assert code == 0, out + err
    assert "expired" not in err
    return out


def test_demo_runs_from_an_empty_directory_and_never_depends_on_the_calendar(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The examples' expiry (2027-02-01) and ignore (until 2027-02-15) are dated: the demo
    runs at its own fixed time, so today, after both dates, or a year on it says the same."""
    first = _demo(capsys, datetime(2026, 6, 1, tzinfo=UTC))
    later = _demo(capsys, datetime(2027, 3, 1, 9, 30, tzinfo=UTC))
    assert first == later
    assert "on 2026-12-01" in first and "`reconciler plan --at 2027-02-01` revokes it" in first
    assert "Drift detected" in first and "reconciler init" in first
    assert list(fresh.iterdir()) == [], "the demo writes nothing where it runs"


# -- init -------------------------------------------------------------------------------------


def test_init_writes_a_workspace_that_validates_offline_and_plans_on_the_sandbox(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "init", "access", "--ci", "github")
    assert code == 0, err
    root = fresh / "access"
    kinds = sorted(p.stem for p in root.glob("*/*.yaml"))
    assert kinds == [
        "BitsightFolderSharing",
        "GolemPermissionShare",
        "KlipfolioClientShareRights",
        "KlipfolioRole",
        "SalesforceFolderShares",
    ]
    for manifest in root.glob("*/*.yaml"):
        assert yaml.safe_load(manifest.read_text())["kind"] == manifest.stem
    config = (root / "reconciler.yaml").read_text()
    assert config.startswith("# ") and "docs/configuration.md" in config
    assert yaml.safe_load(config)["kind"] == "Config"
    assert (root / ".reconcilerignore").is_file()
    workflows = sorted(p.name for p in (root / ".github" / "workflows").iterdir())
    assert workflows == ["reconcile-apply.yml", "reconcile-drift.yml", "reconcile-plan.yml"]
    for name in workflows:
        text = (root / ".github" / "workflows" / name).read_text()
        yaml.safe_load(text)
        # The templates' `access/` is the root of the repository init writes.
        assert "access/" not in text.replace("access-policy", ""), name
    assert "Wrote 10 files to access:" in out

    # Offline, on a fresh machine: the example org's host is a warning, not an error.
    code, out, err = run(capsys, "validate", "access")
    assert code == 0, err
    assert "Valid: 5 objects in 5 files." in out
    assert "warning: host 'acme.my.salesforce.com' is not allowed" in err
    assert "(plan and apply will refuse it)" in err
    code, out, err = run(capsys, "plan", "access", "--sandbox", "--no-color")
    assert code == 0, err
    assert "salesforce/SalesforceFolderShares/" in out and "Plan: " in out


def test_init_refuses_a_directory_that_is_not_empty(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (fresh / "notes.txt").write_text("mine\n")
    code, out, err = run(capsys, "init")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "Error: . is not empty: init writes only into an empty or new directory, so that "
        "nothing is overwritten"
    ]
    assert [p.name for p in fresh.iterdir()] == ["notes.txt"]
    code, _, _ = run(capsys, "init", "--ci", "gitlab")
    assert code == 1


def test_init_writes_into_the_current_directory_and_refuses_a_link_on_the_way(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "init")
    assert code == 0, err
    assert (fresh / "reconciler.yaml").is_file() and not (fresh / ".github").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (fresh / "linked").symlink_to(elsewhere)
    code, _, err = run(capsys, "init", "linked/new")
    assert code == 1 and "link" in err, err
    assert list(elsewhere.iterdir()) == []


# -- offline commands need no pipeline environment ---------------------------------------


def test_offline_commands_on_the_examples_warn_and_exit_0(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLES, fresh / "examples", symlinks=True)
    warning = (
        "examples/reconciler.yaml:20:15: warning: host 'acme.my.salesforce.com' is not allowed"
    )
    for command in (
        ["validate", "examples/"],
        ["expiring", "examples/", "--at", "2026-12-01"],
        ["access", "examples/", "--desired", "--at", "2026-12-01"],
    ):
        code, out, err = run(capsys, *command)
        assert code == 0, f"{command}: {err}"
        assert err.count(warning) == 1, f"{command}: {err}"
        assert "(plan and apply will refuse it)" in err
    # plan (and apply, drift) still refuse it: the pipeline decides.
    code, out, err = run(capsys, "plan", "examples/")
    assert code == 1 and err.startswith(
        "examples/reconciler.yaml:20:15: host 'acme.my.salesforce.com' is not allowed"
    )
    assert "warning" not in err


def test_offline_commands_still_refuse_what_no_environment_allows(
    ws: Workspace, cli: RunCli
) -> None:
    ws.monkeypatch.chdir(ws.root)
    ws.write(
        "reconciler.yaml",
        "apiVersion: reconciler/v1\nkind: Config\nproviders:\n"
        "  bitsight: {base_url: 'http://proxy.acme.example'}\n",
    )
    ws.monkeypatch.setenv("RECONCILER_ALLOW_HOSTS", "proxy.acme.example")
    res = cli("validate", ".")
    assert res.code == 1 and "must be reached over https" in res.err
    assert "warning" not in res.err


def test_export_then_plan_on_the_sandbox_needs_no_base_url(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "export", "--provider", "salesforce", "--sandbox", "--out", "live")
    assert code == 0, err
    code, out, err = run(capsys, "plan", "live/", "--sandbox", "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes." in out
    # Without --sandbox the org's URL is still required.
    code, _, err = run(capsys, "plan", "live/")
    assert code == 1 and "has no base_url" in err


# -- no manifests is an error -------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["drift"], ["plan", "."], ["apply", ".", "--auto-approve"], ["drift", "a", "b"]],
)
def test_no_manifests_is_exit_1_naming_the_paths(
    fresh: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    for name in command[1:]:
        if name not in (".", "--auto-approve"):
            (fresh / name).mkdir()
    (fresh / "reconciler.yaml").write_text("apiVersion: reconciler/v1\nkind: Config\n")
    code, out, err = run(capsys, *command, "--sandbox")
    paths = [a for a in command[1:] if not a.startswith("-")] or ["."]
    assert code == 1, out + err
    assert err.splitlines() == [f"Error: no manifests under {', '.join(paths)}"]
    assert not (fresh / ".reconciler").exists()


# -- paper cuts ---------------------------------------------------------------------------


def test_common_flags_work_before_and_after_the_command(
    ws: Workspace, cli: RunCli, sandbox: object
) -> None:
    ws.monkeypatch.chdir(ws.root)
    ws.config()
    ws.write("roles.yaml", "apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec: {name: R}\n")
    after = cli("plan", ".", "-v", "--no-color", "--parallelism", "2")
    before = cli("-v", "--no-color", "--parallelism", "2", "plan", ".")
    assert before.code == after.code == 0, before.err
    assert before.out == after.out
    assert "INFO reconciler.plugin.http: GET" in before.err
    assert "\x1b[" not in before.out
    other = ws.root / "elsewhere.yaml"
    shutil.move(ws.root / "reconciler.yaml", other)
    res = cli("--config", str(other), "validate")
    assert res.code == 0 and "Valid: 1 object in 1 file." in res.out, res.err
    res = cli("--policy", str(ws.root.parent / "nowhere.yaml"), "validate")
    assert res.code == 1 and "nowhere.yaml:1:1: policy file not found" in res.err, res.err
    res = cli("--policy", "p.yaml", "demo")
    assert res.code == 1 and "--policy does not apply to demo" in res.err


@pytest.mark.parametrize("command", ["plan", "drift", "validate", "expiring", "access"])
def test_the_path_defaults_to_the_current_directory(
    ws: Workspace, cli: RunCli, command: str
) -> None:
    ws.monkeypatch.chdir(ws.root)
    ws.config()
    ws.write("roles.yaml", "apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec: {name: R}\n")
    at = ["--at", "2026-12-01"] if command in ("expiring", "access") else []
    res = cli(command, *at)
    assert res.code in (0, 2), res.err
    assert res.out == cli(command, ".", *at).out
    assert "Missing argument" not in res.err


def test_plurals(ws: Workspace, cli: RunCli) -> None:
    ws.monkeypatch.chdir(ws.root)
    ws.config()
    role = "apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec: {name: %s}\n"
    ws.write("a.yaml", role % "A")
    assert "Valid: 1 object in 1 file." in cli("validate").out
    ws.write("b.yaml", role % "B" + "---\n" + role % "C")
    assert "Valid: 3 objects in 2 files." in cli("validate").out


def test_show_names_the_members_as_plan_does(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLES, fresh / "examples", symlinks=True)
    args = ["examples/", "--sandbox", "--no-color", "--at", "2026-12-01"]
    code, planned, err = run(capsys, "plan", *args, "--out", "plan.json")
    assert code == 0, err
    code, shown, err = run(capsys, "show", "plan.json", "--no-color")
    assert code == 0, err
    assert "(Finance)" in planned and "(Frank Former)" in planned
    assert shown == planned.replace(
        "Saved the plan to plan.json: apply it with `reconciler apply plan.json`.\n", ""
    )


def test_apply_sandbox_in_a_directory_it_cannot_write_is_one_line_exit_1(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the session directory cannot be made (here a file stands in its place, which
    refuses even root; a read-only checkout fails the same way), apply says so first and
    writes nothing to the sandbox."""
    shutil.copytree(EXAMPLES, fresh / "examples", symlinks=True)
    (fresh / ".reconciler").write_text("not a directory\n")
    code, out, err = run(capsys, "apply", "examples/", "--sandbox", "--auto-approve")
    assert code == 1, out + err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: --sandbox keeps what apply writes in .reconciler/ under the current directory, "
        "which cannot be written (not a directory)"
    ), err
    assert "nothing was changed" in lines[0] and "Internal error" not in err
    assert out == ""


def test_a_config_below_the_path_is_named_as_not_in_use(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reconciler init access` then `reconciler validate` from the parent: the config is
    read only from the top of the first PATH (a pull request's nested file never steers the
    run), so access/reconciler.yaml does not apply, and the warning says so and how to use it."""
    assert run(capsys, "init", "access")[0] == 0
    code, out, err = run(capsys, "validate")
    assert code == 1  # Salesforce has no base_url without access/reconciler.yaml
    assert (
        "access/reconciler.yaml:1:1: warning: not the config in use: a config is read from "
        "--config, the top of the first PATH (.) or the current directory; give access as "
        "PATH or pass --config access/reconciler.yaml" in err
    )
    code, out, err = run(capsys, "validate", "access")
    assert code == 0, err
    assert "not the config in use" not in err
