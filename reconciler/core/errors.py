"""Typed errors; the CLI's one handler maps each to a message and an exit code."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.escape import no_commands, text
from reconciler.core.redact import redact


@dataclass(frozen=True, order=True)
class Problem:
    """One validation problem, pointing back at the YAML that caused it."""

    file: str
    line: int
    column: int
    message: str
    rule: str = "invalid"
    severity: str = "error"
    """An error stops the run; a "warning" is printed and changes nothing (notices.py)."""

    def __str__(self) -> str:
        # File names and messages quote the pull request's data: shown escaped, and never
        # as a line GitHub would run as a workflow command.
        tag = "warning: " if self.severity == "warning" else ""
        return no_commands(
            f"{text(self.file)}:{self.line}:{self.column}: {tag}{text(self.message)}"
        )


class ReconcilerError(Exception):
    """Any known failure: one readable line, exit code 1."""


class ManifestError(ReconcilerError):
    """Invalid input; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProviderError(ReconcilerError):
    """A vendor API call failed. Never carries a credential."""

    def __init__(
        self, provider: str, message: str, status: int | None = None, code: str | None = None
    ) -> None:
        self.provider = provider
        self.status = status
        self.code = code
        # Vendor error bodies are quoted here: never a credential, never a control character.
        message = text(redact(message))
        self.detail = message
        where = f" (HTTP {status}{', ' + code if code else ''})" if status else ""
        super().__init__(f"{provider}: {message}{where}")


class AuthError(ProviderError):
    """401: stops the provider."""


class ProviderStopped(ProviderError):
    """The provider can make no more calls in this run (quota, rate limit exhausted, auth)."""


class UnclearOutcome(ProviderError):
    """A write whose response was lost: it may or may not have happened."""


class ConflictError(ProviderError):
    """The object changed since the plan; it was not written."""


class UnsafePlanError(ReconcilerError):
    """The plan exceeds a safety threshold; --force overrides."""


class StalePlanError(ReconcilerError):
    """A saved plan no longer matches live state."""


class PlanFileError(ReconcilerError):
    """A saved plan file that cannot be used."""
