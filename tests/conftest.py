"""Shared fixtures: one sandbox server for the session, reset to fresh for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.sandbox import Sandbox


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
def ws(tmp_path, sandbox, monkeypatch):  # type: ignore[no-untyped-def]
    from tests.harness import Workspace

    return Workspace(tmp_path / "ws", sandbox, monkeypatch)


@pytest.fixture
def cli(ws, capsys):  # type: ignore[no-untyped-def]
    """Run the CLI in-process in the workspace: cli("plan", ".") -> Ran(code, out, err)."""

    def run(*args: str):  # type: ignore[no-untyped-def]
        return ws.run(*args, capsys=capsys)

    return run
