"""`reconciler validate`: offline checks, no network call."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import click

from reconciler.commands.options import Options, common, echo, paths_argument, plural, policy_option
from reconciler.core import notices
from reconciler.core.errors import ManifestError, Problem
from reconciler.core.escape import github_data, github_property
from reconciler.input.config import offline
from reconciler.input.manifest import Workspace, load_workspace
from reconciler.input.policy import Policy


@dataclass(frozen=True)
class Checked:
    """What `validate` found: the workspace (None when a problem stops it), its problems
    and its warnings, each sorted."""

    workspace: Workspace | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check(paths: list[str], config: str | None, policy: Policy | None) -> Checked:
    """Load and check the manifests offline, with a warnings collector of its own: what only
    the pipeline's environment decides (allowed hosts, credential variables, loopback) is a
    warning here, as plan and apply refuse it."""
    with notices.collecting() as notes, offline():
        try:
            ws = load_workspace(paths, config, policy)
        except ManifestError as exc:
            return Checked(None, sorted(exc.problems), notes.take())
    return Checked(ws, [], notes.take())


def render(problems: list[Problem], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [
                {
                    "file": p.file,
                    "line": p.line,
                    "column": p.column,
                    "message": p.message,
                    "rule": p.rule,
                    "severity": p.severity,
                }
                for p in problems
            ],
            indent=2,
        )
    if fmt == "github":
        return "\n".join(
            f"::{p.severity} file={github_property(p.file)},line={p.line},col={p.column}::"
            f"{github_data(p.message)}"
            for p in problems
        )
    return "\n".join(str(p) for p in problems)


@click.command()
@paths_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text")
@common
@policy_option
def validate(opts: Options, paths: tuple[str, ...], fmt: str) -> int:
    """Check manifests and config offline (PATH: the current directory when none is given)."""
    checked = check(list(paths), opts.config, opts.policy)
    ws = checked.workspace
    if ws is None:
        if fmt == "text":
            # Text prints the warnings on stderr before the problems, as every command does.
            for problem in checked.warnings:
                notices.add(problem)
            raise ManifestError(checked.problems)
        # Warnings join the problems in json and github.
        found = sorted([*checked.problems, *checked.warnings])
        echo(render(found, fmt), opts, annotations=fmt == "github")
        files = len({p.file for p in checked.problems})
        click.echo(
            f"{plural(len(checked.problems), 'problem')} in {plural(files, 'file')}", err=True
        )
        return 1
    n = len(ws.resources)
    if fmt == "json":
        echo(render(checked.warnings, fmt), opts)
    else:
        if fmt == "github" and checked.warnings:
            echo(render(checked.warnings, fmt), opts, annotations=True)
        else:
            for problem in checked.warnings:
                notices.add(problem)
        click.echo(
            f"Valid: {plural(n, 'object')} in {plural(len(ws.files), 'file')}.",
            err=fmt == "github",
        )
    return 0


COMMANDS = [validate]
