"""Warnings as a value: a `Notes` collector that one run opens, fills and reads back.

Problems that never stop a run and never change its exit code (an expired drift ignore, an
ignore that matches nothing, a grant whose expiry has passed) are `warn()`-ed into the
collector the running command opened with `collecting()`; the command reads them back as a
list beside its result. The collector is context-local (`contextvars`), so asyncio tasks of
the run add to it too; no module-level list exists. A warning raised with no collector open
(a library call outside a command) goes to the log instead of being kept anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from reconciler.core.errors import Problem

log = logging.getLogger(__name__)


class Notes:
    """The warnings of one run, each once, read back sorted."""

    def __init__(self) -> None:
        self._found: list[Problem] = []

    def add(self, problem: Problem) -> None:
        if problem.severity != "warning":
            problem = Problem(
                problem.file,
                problem.line,
                problem.column,
                problem.message,
                problem.rule,
                severity="warning",
            )
        if problem not in self._found:
            self._found.append(problem)

    def pending(self) -> list[Problem]:
        """The warnings collected so far, sorted; still kept."""
        return sorted(self._found)

    def take(self) -> list[Problem]:
        """The warnings collected so far, sorted; none is kept."""
        found = sorted(self._found)
        self._found.clear()
        return found


_open: ContextVar[Notes | None] = ContextVar("reconciler_notes", default=None)


@contextmanager
def collecting(notes: Notes | None = None) -> Iterator[Notes]:
    """Open `notes` (a new collector by default) for the code inside; the one open before
    gets nothing of what is warned inside, and is open again after."""
    notes = Notes() if notes is None else notes
    token = _open.set(notes)
    try:
        yield notes
    finally:
        _open.reset(token)


def add(problem: Problem) -> None:
    """Record `problem` as a warning in the open collector."""
    notes = _open.get()
    if notes is None:
        log.warning("%s", problem)
        return
    notes.add(problem)


def warn(file: str, line: int, column: int, message: str, rule: str = "warning") -> Problem:
    """Record a warning (once: the same warning twice in a run is kept once)."""
    problem = Problem(file, line, column, message, rule, severity="warning")
    add(problem)
    return problem
