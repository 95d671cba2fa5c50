"""Shared fixtures: one sandbox server for the session, reset to fresh for each test.

Tests that are not about vendor limits or retry timing do not wait for them: every
vendor's default rate and concurrency limits are lifted (a test marked `vendor_limits`
keeps them), and retries back off for milliseconds (a test marked `real_backoff` keeps
the real backoff). The sandbox answers 429/503 with `Retry-After: 0`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

import reconciler.plugin.retry
from reconciler.plugin import registry
from reconciler.sandbox import Sandbox
from tests.support.harness import Ran, RunCli, Workspace

FAST_BACKOFF = {"BACKOFF_BASE": 0.001, "BACKOFF_CAP": 0.01}


@pytest.fixture(autouse=True)
def _no_vendor_limits(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift every vendor's default limits (for configs the test did not write: --sandbox,
    examples/, demo); settings a config spells out still apply."""
    if request.node.get_closest_marker("vendor_limits"):
        return
    for cls in registry.providers().values():
        lifted = dataclasses.replace(cls.DEFAULTS, rate_limit_per_second=0, max_concurrency=0)
        monkeypatch.setattr(cls, "DEFAULTS", lifted)


@pytest.fixture(autouse=True)
def _fast_backoff(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_backoff"):
        return
    for name, value in FAST_BACKOFF.items():
        monkeypatch.setattr(reconciler.plugin.retry, name, value)


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[Sandbox]:
    sb = Sandbox(retry_after=0)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def sandbox(_sandbox_server: Sandbox) -> Sandbox:
    """The session's sandbox, as if new: empty state and log, no faults, hooks or latency."""
    _sandbox_server.reset()
    return _sandbox_server


@pytest.fixture
def ws(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    return Workspace(tmp_path / "ws", sandbox, monkeypatch)


@pytest.fixture
def cli(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run the CLI in-process in the workspace: cli("plan", ".") -> Ran(code, out, err)."""

    def run(*args: str) -> Ran:
        return ws.run(*args, capsys=capsys)

    return run
