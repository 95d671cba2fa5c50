"""`reconciler validate`: offline checks, no network call."""

from __future__ import annotations

import json

import click

from reconciler.commands.options import Options, common, echo, paths_argument, plural, policy_option
from reconciler.core import notices as warnings
from reconciler.core.errors import ManifestError, Problem
from reconciler.core.escape import github_data, github_property
from reconciler.input.config import offline
from reconciler.input.manifest import load_workspace


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
    """Check manifests and config offline (PATH: the current directory when none is given).

    What only the pipeline's environment decides (allowed hosts, credential variables,
    loopback) is a warning here: plan and apply refuse it."""
    try:
        with offline():
            ws = load_workspace(list(paths), opts.config, opts.policy)
    except ManifestError as exc:
        if fmt == "text":
            raise
        # Warnings (warnings.py) join the problems in json and github; text prints them on
        # stderr as every command does.
        found = sorted([*exc.problems, *warnings.take()])
        echo(render(found, fmt), opts, annotations=fmt == "github")
        files = len({p.file for p in exc.problems})
        click.echo(f"{plural(len(exc.problems), 'problem')} in {plural(files, 'file')}", err=True)
        return 1
    n = len(ws.resources)
    if fmt == "json":
        echo(render(warnings.take(), fmt), opts)
    else:
        if fmt == "github" and warnings.pending():
            echo(render(warnings.take(), fmt), opts, annotations=True)
        click.echo(
            f"Valid: {plural(n, 'object')} in {plural(len(ws.files), 'file')}.",
            err=fmt == "github",
        )
    return 0


COMMANDS = [validate]
