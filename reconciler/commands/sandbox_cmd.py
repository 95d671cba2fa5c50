"""`reconciler sandbox serve`: the vendor simulators, standalone."""

from __future__ import annotations

import time
from pathlib import Path

import click

from reconciler.commands.options import Options, common, echo
from reconciler.commands.session import start, state_file
from reconciler.core import safefile
from reconciler.core.errors import ReconcilerError


@click.group()
def sandbox() -> None:
    """The built-in simulator of the vendor APIs."""


@sandbox.command()
@click.option(
    "--state",
    type=click.Path(exists=True, dir_okay=False),
    help="Seed state (SandboxState YAML). Default: the seed --sandbox uses, "
    "examples/sandbox-state.yaml (shipped with the package).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="The first vendor's port; the others take the next ones, in the order printed "
    "(default: a free port each).",
)
@click.option("--latency-ms", type=click.FloatRange(0), default=0.0, help="Added to every answer.")
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of requests answered 429/5xx or dropped.",
)
@click.option(
    "--dump",
    type=click.Path(dir_okay=False),
    help="On exit, write the final state here, in the --state format.",
)
@common
def serve(
    opts: Options,
    state: str | None,
    port: int,
    latency_ms: float,
    fault_rate: float,
    dump: str | None,
) -> int:
    """Serve the vendor APIs on loopback until interrupted (Ctrl-C or SIGTERM).

    \b
    Each vendor is served at the root of a loopback port of its own. Prints on stdout
    each vendor's base URL on a line of its own (here with --port 8125):
      bitsight http://127.0.0.1:8125
      golem http://127.0.0.1:8126
      klipfolio http://127.0.0.1:8127/api/1
      salesforce http://127.0.0.1:8128
    and on stderr the seed it started from and each vendor's sandbox credential. Point a
    workspace's `base_url`s at those lines (docs/sandbox.md). With --dump, the final state
    is written on exit.
    """
    if dump and not Path(dump).resolve().parent.is_dir():
        raise ReconcilerError(f"--dump {dump}: its directory does not exist")
    if dump:
        safefile.refuse_links(dump, what="--dump")  # at once, not after the session
    seed = state_file(state, [])
    sb = start(seed, latency_ms=latency_ms, fault_rate=fault_rate)
    if port and port + len(sb.vendors) - 1 > 65535:
        raise ReconcilerError(f"--port {port}: {len(sb.vendors)} ports from it are needed")
    # SIGINT and SIGTERM raise KeyboardInterrupt here, on the main thread (the command runs
    # under core/runner.py's handler): from the first port on, the server stops on either.
    try:
        try:
            urls = sb.start(port=port)
        except OSError as exc:
            last = port + len(sb.vendors) - 1
            why = f"--port {port}: cannot listen on ports {port}-{last}: {exc}"
            raise ReconcilerError(why) from None
        echo(f"seeded from {seed}", opts, err=True)
        creds = sb.credentials()
        echo(
            "credentials: " + ", ".join(f"{v}={c}" for v, c in creds.items()) + " (sandbox only)",
            opts,
            err=True,
        )
        for vendor, url in urls.items():  # last: what a caller waits for
            echo(f"{vendor} {url}", opts)
        while True:
            time.sleep(0.2)  # until the signal's KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
    if dump:
        from reconciler.sandbox.state import dump_state

        dump_state(sb.state, Path(dump), what="--dump")
        echo(f"state written to {dump}", opts, err=True)
    return 0


COMMANDS = [sandbox]
