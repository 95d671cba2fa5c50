"""Command line: parse, dispatch, render; one handler turns each error into one line and a code."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from reconciler import __version__
from reconciler.errors import ManifestError, PlanFileError, ReconcilerError
from reconciler.http import install_redaction
from reconciler.redact import RedactingFormatter, redact
from reconciler.render.escape import lines, no_commands
from reconciler.runner import interrupts

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass
class Options:
    verbose: int = 0
    color: bool | None = None
    config: str | None = None
    parallelism: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def common(fn: Callable[..., int]) -> Callable[..., int]:
    """The flags every command takes, gathered into `opts`."""

    @click.option(
        "--config", "config", metavar="FILE", help="Config file (default: reconciler.yaml)."
    )
    @click.option("-v", "--verbose", count=True, help="Log each HTTP call; tracebacks on errors.")
    @click.option("--no-color", is_flag=True, help="Never colour the output.")
    @click.option("--parallelism", type=click.IntRange(1, 256), help="Concurrent API requests.")
    @functools.wraps(fn)
    def wrapper(
        config: str | None, verbose: int, no_color: bool, parallelism: int | None, **kw: Any
    ) -> int:
        opts = Options(verbose, False if no_color else None, config, parallelism)
        ctx = click.get_current_context()
        ctx.meta["opts"] = opts
        _logging(verbose)
        return fn(opts, **kw)

    return wrapper


def _logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_redaction()


def echo(text: str, opts: Options, err: bool = False, annotations: bool = False) -> None:
    """Print rendered output: never a credential, and no line GitHub would run as a
    workflow command unless `annotations` (validate --format github, whose data is
    escaped by the renderer)."""
    text = redact(text)
    click.echo(text if annotations else no_commands(text), color=opts.color, err=err)


def _err(text: str) -> None:
    """A message of the error handler: masked, control characters escaped, no `::` line."""
    click.echo(lines(redact(text)), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """Access-as-code for SaaS sharing: validate, plan and apply who may see what."""


def register(*modules: Any) -> None:
    for module in modules:
        for command in module.COMMANDS:
            cli.add_command(command)


def _register_all() -> None:
    # Commands import this module, so they are attached on first use, not at import.
    if not cli.commands:
        from reconciler.commands import COMMAND_MODULES

        register(*COMMAND_MODULES)


def main(argv: list[str] | None = None) -> None:
    code = _main(argv)
    sys.exit(code)


def _main(argv: list[str] | None) -> int:
    _register_all()
    args = argv if argv is not None else sys.argv[1:]
    verbose = any(a == "--verbose" or (a[:2] == "-v" and set(a[1:]) == {"v"}) for a in args)
    try:
        with interrupts():  # SIGINT and SIGTERM: exit 130 in every phase (runner.py)
            result = cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
        return int(result or 0)
    except ManifestError as exc:
        for problem in exc.problems:
            _err(str(problem))
        files = len({p.file for p in exc.problems})
        n = len(exc.problems)
        click.echo(f"{n} problem{'s' * (n != 1)} in {files} file{'s' * (files != 1)}", err=True)
        return EXIT_ERROR
    except PlanFileError as exc:
        _err(f"Error: {exc}")
        return EXIT_ERROR
    except ReconcilerError as exc:
        if verbose:
            logging.getLogger(__name__).exception("error")
        _err(f"Error: {exc}")
        return EXIT_ERROR
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the one place a bug becomes a message
        if verbose:
            import traceback

            _err(traceback.format_exc().rstrip("\n"))
        _err(f"Internal error: {type(exc).__name__}: {exc} (a bug; run with -v for the traceback)")
        return EXIT_BUG


__all__ = ["Options", "cli", "common", "echo", "main", "EXIT_OK", "EXIT_ERROR"]
