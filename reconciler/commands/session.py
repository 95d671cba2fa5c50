"""What plan, apply, drift and export share: the workspace, the sandbox, the providers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

from reconciler.cli import Options
from reconciler.engine import SandboxTarget
from reconciler.errors import ReconcilerError
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import load_state

DEFAULT_STATE = Path("examples") / "sandbox-state.yaml"


def sandbox_options(fn: click.decorators.FC) -> click.decorators.FC:
    fn = click.option(
        "--sandbox-state",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Seed for --sandbox (default: sandbox-state.yaml beside the manifests, "
        "else examples/sandbox-state.yaml).",
    )(fn)
    return click.option(
        "--sandbox", is_flag=True, help="Run against the built-in sandbox, started in-process."
    )(fn)


def state_file(explicit: str | None, paths: list[str]) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ReconcilerError(f"sandbox state file not found: {explicit}")
        return path
    for raw in paths[:1]:
        base = Path(raw) if Path(raw).is_dir() else Path(raw).parent
        if (base / "sandbox-state.yaml").is_file():
            return base / "sandbox-state.yaml"
    return DEFAULT_STATE if DEFAULT_STATE.is_file() else None


@contextlib.contextmanager
def maybe_sandbox(
    enabled: bool, state: str | None, paths: list[str], opts: Options
) -> Iterator[SandboxTarget | None]:
    """Start the sandbox in-process when asked; yields where providers should point."""
    if not enabled:
        yield None
        return
    path = state_file(state, paths)
    sb = Sandbox(load_state(path) if path else {})
    urls = sb.start()
    opts.extra["sandbox"] = sb
    try:
        yield SandboxTarget(urls, sb.credentials())
    finally:
        sb.stop()
