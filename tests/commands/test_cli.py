"""The commands as a new user meets them: --sandbox sessions, demo, sandbox serve, errors."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from reconciler.cli import _main
from reconciler.core import clock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = _main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def copy_of_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_examples_plan_shows_every_vendor(
    copy_of_examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "plan", "examples/", "--sandbox", "--detailed-exitcode", "--at", "2026-12-01"
    )
    assert code == 2, err
    for vendor in ("klipfolio/", "bitsight/", "golem/", "salesforce/"):
        assert vendor in out
    assert "-/+ golem/GolemPermissionShare/" in out
    assert out.rstrip().splitlines()[-1].startswith("Plan: ")
    # Governance (SPEC §5): an allowed guard, an expiring member, an active ignore.
    # The change itself: the address's last mention (the governance block names it first).
    executives = out.split("salesforce/SalesforceFolderShares/00l5e000002ExEcAAK")[-1]
    assert "+ member organization" in executives.split("\n\n")[0]
    assert "! guard everyone (allowed: Board KPIs" in executives.split("\n\n")[0]
    assert "+ member external.auditor@kpmg.example" in out and "(expires 2027-02-01)" in out
    ignored = out.split("\nIgnored:\n")[1]
    assert "member carol.old@acme.com (remove)" in ignored and "until 2027-02-15" in ignored
    # Not planned: only the governance block at the top names the ignore entry.
    assert "carol.old" not in out.split("\nIgnored:\n")[0].split("\n\n", 1)[1]
    assert "warning" not in err


def test_sandbox_apply_then_plan_is_empty_and_reset_starts_over(
    copy_of_examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "apply", "examples/", "--sandbox", "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete:" in out and "0 conflict, 0 failed." in out
    assert "state saved to .reconciler/" in err
    code, out, err = run(capsys, "plan", "examples/", "--sandbox", "--detailed-exitcode")
    assert code == 0 and "No changes." in out and "continuing from" in err
    shutil.rmtree(copy_of_examples / ".reconciler")
    code, out, _ = run(capsys, "plan", "examples/", "--sandbox", "--detailed-exitcode")
    assert code == 2


def test_apply_without_terminal_needs_auto_approve(
    copy_of_examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "apply", "examples/", "--sandbox")
    assert code == 1
    assert "--auto-approve" in err and "nothing was changed" in err
    assert not (copy_of_examples / ".reconciler").exists()


def test_demo_runs_plan_apply_expiry_and_finds_drift(capsys: pytest.CaptureFixture[str]) -> None:
    with clock.frozen(datetime(2026, 11, 29, 12, tzinfo=UTC)):  # before the examples' expiry
        code, out, err = run(capsys, "demo", "--no-color")
    assert code == 0, err
    steps = ("1/5 plan", "2/5 apply", "3/5 expiry", "4/5 out-of-band change", "5/5 drift")
    for step in steps:
        assert step in out
    assert "Apply complete:" in out and "Drift detected" in out
    # The expiry step: at the member's expiry the plan revokes it, apply writes, drift is clean.
    expiry = out.split("3/5 expiry")[1].split("4/5 out-of-band change")[0]
    assert "`reconciler plan --at 2027-02-01` revokes it" in expiry
    assert "- member external.auditor@kpmg.example" in expiry
    assert "(expired 2027-02-01)" in expiry
    assert "Plan: 0 to create, 1 to update" in expiry
    assert "Apply complete: 1 applied, 0 conflict, 0 failed." in expiry
    assert "No drift" in expiry
    drift = out.split("5/5 drift")[1]
    assert "live has member " in drift and "external.auditor" not in drift
    assert "expired" not in err  # what held at the later time is no warning for today


def test_sandbox_serve_prints_urls_and_dumps_state_on_exit(tmp_path: Path) -> None:
    dump = tmp_path / "final.yaml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "sandbox",
            "serve",
            "--state",
            str(EXAMPLES / "sandbox-state.yaml"),
            "--dump",
            str(dump),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    urls = dict(proc.stdout.readline().split() for _ in range(4))
    assert set(urls) == {"klipfolio", "bitsight", "golem", "salesforce"}
    assert all(u.startswith("http://127.0.0.1:") for u in urls.values())
    import httpx

    got = httpx.get(
        urls["golem"] + "/v1/accounts/6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11/permission-shares",
        headers={"Authorization": "Bearer sandbox-golem-credential"},
    )
    assert got.status_code == 200 and got.json()["values"]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    state = yaml.safe_load(dump.read_text())
    assert state["kind"] == "SandboxState" and state["golem"]["shares"]


def test_unknown_command_and_bad_flag_are_one_line_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "show")  # plan's PATH defaults to "." (test_first_day.py)
    assert code == 1 and "Missing argument" in err
    code, _, err = run(capsys, "plan", "examples/", "--format", "yaml")
    assert code == 1 and "Invalid value for '--format'" in err


def test_missing_path_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "validate", "nowhere/")
    assert code == 1 and "nowhere/" in err and "no such file or directory" in err


@pytest.mark.parametrize(("answer", "code"), [("yes", 0), ("no", 1)])
def test_apply_asks_at_a_terminal_and_only_yes_applies(
    copy_of_examples: Path, answer: str, code: int
) -> None:
    import pexpect

    _lift_limits(copy_of_examples / "examples" / "reconciler.yaml")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "reconciler", "apply", "examples/", "--sandbox", "--no-color"],
        cwd=str(copy_of_examples),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )
    child.expect("Apply these changes\\? Only 'yes' will be accepted:")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code, child.before
    if answer == "yes":
        assert "Apply complete:" in child.before
        assert (copy_of_examples / ".reconciler").is_dir()
    else:
        assert "Apply cancelled; nothing was changed." in child.before
        assert not (copy_of_examples / ".reconciler").exists()


def _lift_limits(config: Path) -> None:
    """The vendors' rate and concurrency limits off, in a config a subprocess will read
    (in-process runs have them lifted by tests/conftest.py): the prompt is the subject."""
    doc = yaml.safe_load(config.read_text())
    for settings in doc["providers"].values():
        settings.update(rate_limit_per_second=0, max_concurrency=0)
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
