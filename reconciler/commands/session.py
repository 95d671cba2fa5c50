"""`--sandbox`: the sandbox started in-process for one command, its state kept between runs."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import click

from reconciler.commands.options import Options
from reconciler.config import sandboxed
from reconciler.engine import SandboxTarget
from reconciler.errors import ReconcilerError
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import dump_state, load_state

DEFAULT_STATE = Path("examples") / "sandbox-state.yaml"
SESSION_DIR = Path(".reconciler")


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
    """Start the sandbox in-process when asked; yields where providers should point.

    What an apply writes to the sandbox is kept in `.reconciler/` under the current
    directory, so `apply --sandbox` then `plan --sandbox` shows no changes, as it would
    against a real account. Deleting that file starts again from the seed.
    """
    if not enabled:
        yield None
        return
    seed = state_file(state, paths)
    session = session_file(seed)
    if session.is_file() and (seed is None or session.stat().st_mtime >= seed.stat().st_mtime):
        click.echo(f"sandbox: continuing from {session} (delete it to start over)", err=True)
        sb = Sandbox(load_state(session))
    else:
        sb = Sandbox(load_state(seed) if seed else {})
    urls = sb.start()
    opts.extra["sandbox"] = sb
    try:
        with sandboxed():
            yield SandboxTarget(urls, sb.credentials())
    finally:
        sb.stop()
        if sb.writes():
            session.parent.mkdir(exist_ok=True)
            dump_state(sb.state, session)
            click.echo(f"sandbox: state saved to {session} (delete it to start over)", err=True)


def session_file(seed: Path | None) -> Path:
    key = str(seed.resolve()) if seed else "empty"
    return SESSION_DIR / f"sandbox-{hashlib.sha256(key.encode()).hexdigest()[:12]}.yaml"
