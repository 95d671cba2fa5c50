"""`reconciler plan`: what apply would change."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from reconciler.commands.options import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    Options,
    at_option,
    common,
    echo,
    paths_argument,
    plan_format,
    policy_option,
    provider_option,
    render_plan,
    require_manifests,
    sandbox_options,
)
from reconciler.commands.progress import progress
from reconciler.commands.session import maybe_sandbox
from reconciler.core import escape, safefile
from reconciler.engine import workflow
from reconciler.plans import planfile
from reconciler.render import text


@click.command()
@paths_argument
@click.option("--out", metavar="PLAN.json", type=click.Path(dir_okay=False), help="Save the plan.")
@plan_format
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes.")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS", help="Only this object.")
@click.option(
    "--base",
    metavar="REF",
    help="Read only what changed since this Git revision (docs/ci.md).",
)
@provider_option
@sandbox_options
@at_option
@common
@policy_option
def plan(
    opts: Options,
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    base: str | None,
    only: tuple[str, ...],
    sandbox: bool,
    sandbox_state: str | None,
) -> int:
    """Show what apply would change."""
    with maybe_sandbox(sandbox, sandbox_state, list(paths), opts) as target:
        require_manifests(paths, opts.config)
        result, config = workflow.plan_workspace(
            list(paths),
            config_file=opts.config,
            parallelism=opts.parallelism,
            targets=list(targets),
            sandbox=target,
            bar=functools.partial(progress, fmt == "text"),
            only=list(only),
            pol=opts.policy,
            base=base,
        )
    echo(render_plan(result, fmt), opts)
    if out:
        safefile.write_text(Path(out), planfile.dumps(result), what="--out")
        if fmt == "text":
            echo(f"Saved the plan to {out}: apply it with `reconciler apply {out}`.", opts)
    # The policy check (docs/governance.md): a plan apply would refuse fails, 1 over 2.
    refusals = workflow.would_refuse(result, config)
    if refusals:
        line = text.refusal_line(refusals)
        if fmt == "markdown":
            line = f"**{escape.markdown(line)}**"
        echo(line, opts, err=fmt == "json")
        return EXIT_ERROR
    return EXIT_CHANGES if detailed_exitcode and not result.empty else EXIT_OK


COMMANDS = [plan]
