"""`reconciler sandbox serve`: the vendor simulators, standalone."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from reconciler.commands.options import Options, common, echo
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import dump_state, load_state


@click.group()
def sandbox() -> None:
    """The built-in simulator of the four vendor APIs."""


@sandbox.command()
@click.option(
    "--state", type=click.Path(exists=True, dir_okay=False), help="Seed state (SandboxState YAML)."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port (default: a free one)."
)
@click.option("--latency-ms", type=click.FloatRange(0), default=0.0, help="Added to every answer.")
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of requests answered 429/5xx or dropped.",
)
@click.option("--dump", type=click.Path(dir_okay=False), help="Write the final state here on exit.")
@common
def serve(
    opts: Options,
    state: str | None,
    port: int,
    latency_ms: float,
    fault_rate: float,
    dump: str | None,
) -> int:
    """Serve until interrupted; prints each vendor's base URL and credential env var."""
    sb = Sandbox(
        load_state(Path(state)) if state else {}, latency_ms=latency_ms, fault_rate=fault_rate
    )
    urls = sb.start(port=port)
    for vendor, url in urls.items():
        echo(f"{vendor} {url}", opts)
    creds = sb.credentials()
    echo(
        "credentials: " + ", ".join(f"{v}={c}" for v, c in creds.items()) + " (sandbox only)",
        opts,
        err=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
        if dump:
            dump_state(sb.state, Path(dump))
            echo(f"state written to {dump}", opts, err=True)
    return 0


COMMANDS = [sandbox]
