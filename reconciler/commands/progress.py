"""Progress on a terminal (objects read, writes done); silent otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from reconciler.engine.read import Progress as ProgressFn


@contextlib.contextmanager
def progress(enabled: bool, what: str, total: int | None = None) -> Iterator[ProgressFn | None]:
    """Yields a callback for the engine, drawing on stderr only when it is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    # rich only when a bar is drawn: importing it costs every command start-up time.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    console = Console(stderr=True)
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    else:
        columns.append(TextColumn("{task.completed} objects"))
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(what, total=total)

        def advance(_: str, n: int) -> None:
            bar.advance(task, n)

        yield advance
