"""Interrupts (issue 10, item 7): once SIGINT or SIGTERM arrives, in any phase and at any
parallelism, no write starts; writes in flight finish and are reported; exit 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace

ROLES = 40
SLACK = 0.1
"""Seconds a request may reach the sandbox after the signal was sent: it was on its way."""


def _roles(n: int) -> str:
    return "\n---\n".join(
        f"apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec: {{name: Role {i:03d}, "
        f"description: d{i}, permissions: [klip.edit]}}"
        for i in range(n)
    )


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args, "--no-color"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _wait(what: Callable[[], bool], why: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, why
        time.sleep(0.005)


def _gets(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests("klipfolio") if r.method == "GET")


@pytest.fixture
def slow_roles(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    """40 roles to create through an API that takes 0.3 s per request, no rate limit."""
    sandbox.state["klipfolio"] = {"roles": []}
    ws.config(providers="klipfolio.rate_limit_per_second: 0")
    ws.write("roles.yaml", _roles(ROLES))
    sandbox.latency_ms = 300
    return sandbox


def _signal_after_plan(
    proc: subprocess.Popen[str], sandbox: Sandbox, ready: Callable[[], bool]
) -> float:
    """Read stdout up to the `Plan:` line, wait for `ready`, send SIGINT; when it was sent."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Plan:"):
            break
    else:
        raise AssertionError("no Plan: line: " + proc.communicate()[1])
    _wait(ready, "the write phase never started")
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    return sent


def _check_stopped(proc: subprocess.Popen[str], sandbox: Sandbox, sent: float) -> tuple[str, str]:
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Interrupted" in err
    late = [f"{r.method} {r.path}" for r in sandbox.writes() if r.at > sent + SLACK]
    assert late == [], "writes started after the signal"
    applied = {line.split("KlipfolioRole/")[1] for line in out.splitlines() if " applied " in line}
    created = {r["name"] for r in sandbox.state["klipfolio"]["roles"]}
    # Every write that reached the sandbox was one in flight, and it is reported.
    assert len(sandbox.writes()) == len(applied) and created == applied
    assert "not started: interrupted" in out
    return out, err


def test_sigint_during_pre_write_reads_starts_no_write(slow_roles: Sandbox, ws: Workspace) -> None:
    # At parallelism 20, twenty pre-write reads are in flight when the signal arrives:
    # none of them may be followed by its write.
    proc = _start("apply", str(ws.root), "--auto-approve", "--parallelism", "20")
    sent = _signal_after_plan(proc, slow_roles, lambda: _gets(slow_roles) >= 2)
    _check_stopped(proc, slow_roles, sent)
    assert slow_roles.writes() == []


def test_sigint_with_writes_in_flight_reports_them_and_starts_no_more(
    slow_roles: Sandbox, ws: Workspace
) -> None:
    proc = _start("apply", str(ws.root), "--auto-approve", "--parallelism", "20")
    sent = _signal_after_plan(proc, slow_roles, lambda: bool(slow_roles.writes()))
    out, _ = _check_stopped(proc, slow_roles, sent)
    assert 0 < len(slow_roles.writes()) < ROLES
    assert "Apply complete:" in out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_the_read_phase_exits_130(
    slow_roles: Sandbox, ws: Workspace, sig: signal.Signals
) -> None:
    proc = _start("apply", str(ws.root), "--auto-approve", "--parallelism", "20")
    _wait(lambda: _gets(slow_roles) >= 1, "plan never read")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Interrupted" in err and "Traceback" not in err
    assert slow_roles.writes() == []


def test_signal_during_the_stale_check_of_a_saved_plan_exits_130(
    slow_roles: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    slow_roles.latency_ms = 0
    plan = ws.root / "plan.json"
    assert cli("plan", str(ws.root), "--out", str(plan)).code == 0
    slow_roles.latency_ms = 300
    config = ws.root / "reconciler.yaml"
    proc = _start("apply", str(plan), "--config", str(config), "--parallelism", "20")
    before = _gets(slow_roles)
    _wait(lambda: _gets(slow_roles) > before, "the stale check never read")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Interrupted" in err
    assert slow_roles.writes() == []


def test_sigterm_at_the_confirmation_exits_130(
    slow_roles: Sandbox, ws: Workspace, tmp_path: Path
) -> None:
    import pexpect

    slow_roles.latency_ms = 0
    child = pexpect.spawn(
        sys.executable,
        ["-m", "reconciler", "apply", str(ws.root), "--no-color"],
        encoding="utf-8",
        timeout=30,
        env=dict(os.environ),
        dimensions=(50, 200),
    )
    child.expect("Apply these changes\\? Only 'yes' will be accepted:")
    child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, child.before
    assert "Interrupted" in child.before
    assert slow_roles.writes() == []
