"""Shared fixtures: a sandbox on a free loopback port, fresh for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(retry_after=0)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


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
