"""`--sandbox`: the sandbox started in-process for one command, its state kept between runs.

The seed (live state the sandbox starts from) is, in this order: `--sandbox-state FILE`;
`sandbox-state.yaml` beside the manifests (the first PATH); the seed shipped with the
package, `reconciler/sandbox/sandbox-state.yaml`, which `examples/sandbox-state.yaml`
links to. So the same seed is found from any directory, in a checkout or from a wheel, by
`--sandbox` on every command and by `sandbox serve`.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.commands.options import Options
from reconciler.core import safefile
from reconciler.core.errors import ReconcilerError
from reconciler.engine.connect import SandboxTarget
from reconciler.input.config import sandboxed

if TYPE_CHECKING:
    from reconciler.sandbox import Sandbox

SEED = Path(__file__).resolve().parents[1] / "sandbox" / "sandbox-state.yaml"
"""The packaged seed (package data of reconciler.sandbox)."""
SESSION_DIR = Path(".reconciler")


def state_file(explicit: str | None, paths: list[str]) -> Path:
    """The seed for `--sandbox` / `sandbox serve`: see the module's docstring."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ReconcilerError(f"sandbox state file not found: {explicit}")
        return path
    for raw in paths[:1]:
        base = Path(raw) if Path(raw).is_dir() else Path(raw).parent
        if (base / "sandbox-state.yaml").is_file():
            return base / "sandbox-state.yaml"
    if not SEED.is_file():
        raise ReconcilerError(
            f"the sandbox's built-in seed {SEED} is missing from this installation: "
            "pass --sandbox-state FILE (a SandboxState YAML document)"
        )
    return SEED


def start(seed: Path, latency_ms: float = 0, fault_rate: float = 0.0) -> Sandbox:
    """A sandbox holding the state of `seed` (not yet started)."""
    # The server (aiohttp's) only for --sandbox and `sandbox serve`: start-up time.
    from reconciler.sandbox import Sandbox
    from reconciler.sandbox.state import load_state

    return Sandbox(load_state(seed), latency_ms=latency_ms, fault_rate=fault_rate)


@contextlib.contextmanager
def maybe_sandbox(
    enabled: bool, state: str | None, paths: list[str], opts: Options, writes: bool = False
) -> Iterator[SandboxTarget | None]:
    """Start the sandbox in-process when asked (each vendor at the root of a free loopback
    port of its own); yields where providers should point.

    What an apply writes to the sandbox is kept in `.reconciler/` under the current
    directory, so `apply --sandbox` then `plan --sandbox` shows no changes, as it would
    against a real account. Deleting that file starts again from the seed. `writes` (apply):
    that directory must be writable before anything is applied, not found unwritable after.
    """
    if not enabled:
        yield None
        return
    from reconciler.sandbox.state import dump_state

    seed = state_file(state, paths)
    session = session_file(seed)
    safefile.refuse_links(session)  # before the command runs, not after its writes
    if writes:
        check_writable(session.parent)
    if session.is_file() and session.stat().st_mtime >= seed.stat().st_mtime:
        click.echo(f"sandbox: continuing from {session} (delete it to start over)", err=True)
        sb = start(session)
    else:
        sb = start(seed)
    urls = sb.start()
    opts.extra["sandbox"] = sb
    opts.extra["sandbox_seed"] = seed
    try:
        with sandboxed():
            yield SandboxTarget(urls, sb.credentials())
    finally:
        sb.stop()
        if sb.writes():
            safefile.make_dirs(session.parent)
            dump_state(sb.state, session)
            click.echo(f"sandbox: state saved to {session} (delete it to start over)", err=True)


def check_writable(directory: Path) -> None:
    """Refuse, before any write, a session directory that cannot be written (a read-only
    checkout): one line, exit 1, instead of an apply whose state is then lost. Creates
    nothing: a probe file, removed at once, in the directory or where it would be made."""
    where = directory if directory.is_dir() else directory.parent
    try:
        if directory.exists() and not directory.is_dir():
            raise NotADirectoryError(20, "not a directory")
        probe = where / f".reconciler-probe-{secrets.token_hex(6)}"
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as exc:
        raise ReconcilerError(
            f"--sandbox keeps what apply writes in {directory}/ under the current directory, "
            f"which cannot be written ({exc.strerror}): run from a writable directory; "
            "nothing was changed"
        ) from None


def session_file(seed: Path) -> Path:
    """Where the state of a session started from `seed` is kept: named by the seed's
    content, so every copy of one seed (examples/, a copy of it, the packaged file) shares
    one session, as `plan --sandbox` then `apply PLAN.json --sandbox` need."""
    digest = hashlib.sha256(seed.read_bytes()).hexdigest()[:12]
    return SESSION_DIR / f"sandbox-{digest}.yaml"
