"""`reconciler access`: who can reach what, across every provider (docs/access.md)."""

from __future__ import annotations

import dataclasses
import functools
from typing import cast

import click

from reconciler.access import origin
from reconciler.access.collect import collect
from reconciler.access.model import BY, By
from reconciler.access.render import FORMATS, Format, render
from reconciler.commands.options import (
    Options,
    at_option,
    common,
    echo,
    paths_argument,
    policy_option,
    provider_option,
    sandbox_options,
)
from reconciler.commands.progress import progress
from reconciler.commands.session import maybe_sandbox
from reconciler.core import safefile
from reconciler.core.errors import ReconcilerError
from reconciler.core.escape import surrogates
from reconciler.engine import workflow
from reconciler.input.config import offline


@click.command()
@paths_argument
@click.option(
    "--desired", is_flag=True, help="The manifests alone, offline: no request, no credential."
)
@click.option(
    "--by",
    "by",
    type=click.Choice(BY),
    default="principal",
    show_default=True,
    help="Group the text by principal, person or object (HTML: the first view).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--out", metavar="FILE", type=click.Path(dir_okay=False), help="Write the report to FILE."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when any row is live-only or expired."
)
@provider_option
@sandbox_options
@at_option
@common
@policy_option
def access(
    opts: Options,
    paths: tuple[str, ...],
    desired: bool,
    by: str,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    only: tuple[str, ...],
    sandbox: bool,
    sandbox_state: str | None,
) -> int:
    """Who can reach what: one row per grant, live state against the manifests.

    Reads live state with the calls `plan` makes, and reads every role of the scopes
    read in full and the objects' names; `--desired` reads the manifests alone. The
    header names the PATHs and, in a Git checkout, the commit. Exit 0; with
    --detailed-exitcode, 2 when a row is live-only or expired."""
    if desired and sandbox:
        raise ReconcilerError("--desired reads no live state: it takes no --sandbox")
    if desired:
        with offline():
            ws, resources = workflow.load_only(list(paths), opts.config, list(only), opts.policy)
        report = collect(ws, None, resources)
    else:
        claims: dict[str, list[str]] = {}
        with maybe_sandbox(sandbox, sandbox_state, list(paths), opts) as target:
            ws, resources, live = workflow.read_live(
                list(paths),
                config_file=opts.config,
                parallelism=opts.parallelism,
                sandbox=target,
                bar=functools.partial(progress, fmt == "text" and out is None),
                only=list(only),
                pol=opts.policy,
                claims=claims,
            )
        report = collect(ws, live, resources, claims)
    report = dataclasses.replace(report, workspace=paths, commit=origin.commit_of(paths))
    text = render(report, cast(Format, fmt), cast(By, by))
    if out:
        safefile.write_text(out, surrogates(text), what="--out")
        click.echo(f"Wrote the access report to {out} ({len(report.rows)} rows).", err=True)
    else:
        echo(text.rstrip("\n"), opts)
    return report.exit_code(detailed_exitcode)


COMMANDS = [access]
