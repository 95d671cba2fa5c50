"""The one error handler: each exception becomes readable line(s) on stderr and an exit code.

Known errors exit 1, an interrupt 130, anything else is a bug and exits 3 (docs/exit-codes.md); the
traceback only with -v (or -vv), always masked and escaped.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import click

from reconciler.commands.options import EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED, plural
from reconciler.core import notices
from reconciler.core.errors import ManifestError, PlanFileError, ReconcilerError
from reconciler.core.escape import lines
from reconciler.core.redact import redact
from reconciler.core.runner import interrupts

# Named as before the handler moved here: "ERROR reconciler.cli: error" under -v.
log = logging.getLogger("reconciler.cli")


def verbose_in(args: list[str]) -> bool:
    """Whether the command line asks for -v, -vv or --verbose: known before click parses
    it, so that an error while parsing is reported the same way."""
    return any(a == "--verbose" or (a[:2] == "-v" and set(a[1:]) == {"v"}) for a in args)


def run(command: Callable[[], int | None], verbose: bool) -> int:
    """Run `command` with SIGINT and SIGTERM handled for all of it (core/runner.py) and a
    warnings collector of its own open (core/notices.py); its exit code, or the one its
    exception maps to. The warnings it collected and did not take go to stderr first."""
    with notices.collecting() as notes:
        try:
            with interrupts():
                code = int(command() or 0)
        except (Exception, KeyboardInterrupt) as exc:
            show_warnings(notes)
            return report(exc, verbose)
    show_warnings(notes)
    return code


def show_warnings(notes: notices.Notes) -> None:
    """The warnings the command collected and did not print itself, on stderr."""
    for problem in notes.take():
        _err(str(problem))


def _err(text: str) -> None:
    """A message of the error handler: masked, control characters escaped, no `::` line."""
    click.echo(lines(redact(text)), err=True)


def report(exc: BaseException, verbose: bool) -> int:
    """Print what `exc` means for the user; its exit code."""
    if isinstance(exc, ManifestError):
        for problem in exc.problems:
            _err(str(problem))
        files = len({p.file for p in exc.problems})
        click.echo(f"{plural(len(exc.problems), 'problem')} in {plural(files, 'file')}", err=True)
        return EXIT_ERROR
    if isinstance(exc, PlanFileError):
        _err(f"Error: {exc}")
        return EXIT_ERROR
    if isinstance(exc, ReconcilerError):
        if verbose:
            log.error("error", exc_info=exc)
        _err(f"Error: {exc}")
        return EXIT_ERROR
    if isinstance(exc, click.exceptions.Abort | KeyboardInterrupt):
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    if isinstance(exc, click.exceptions.Exit):
        return int(exc.exit_code)
    if isinstance(exc, click.ClickException):
        exc.show()
        return EXIT_ERROR
    if verbose:  # the one place a bug becomes a message
        _err("".join(traceback.format_exception(exc)).rstrip("\n"))
    _err(f"Internal error: {type(exc).__name__}: {exc} (a bug; run with -v for the traceback)")
    return EXIT_BUG
