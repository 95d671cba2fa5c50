"""Warnings: problems that never stop a run and never change its exit code.

An expired drift ignore, an ignore that matches nothing, a grant whose expiry has passed:
anything may `warn()` a `Problem(..., severity="warning")`. The command line prints what was
collected on stderr when the command ends (commands/error_handler.run: before an error's own
lines); `validate --format json|github` takes them into its own output with `take()`.
"""

from __future__ import annotations

from reconciler.core.errors import Problem

_pending: list[Problem] = []


def warn(file: str, line: int, column: int, message: str, rule: str = "warning") -> Problem:
    """Record a warning (once: the same warning twice in a run is shown once)."""
    problem = Problem(file, line, column, message, rule, severity="warning")
    add(problem)
    return problem


def add(problem: Problem) -> None:
    if problem.severity != "warning":
        problem = Problem(
            problem.file,
            problem.line,
            problem.column,
            problem.message,
            problem.rule,
            severity="warning",
        )
    if problem not in _pending:
        _pending.append(problem)


def pending() -> list[Problem]:
    """The warnings collected so far, sorted; still pending."""
    return sorted(_pending)


def take() -> list[Problem]:
    """The warnings collected so far, sorted; none is left pending."""
    found = sorted(_pending)
    _pending.clear()
    return found


def clear() -> None:
    _pending.clear()
