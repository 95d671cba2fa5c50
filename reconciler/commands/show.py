"""`reconciler show PLAN.json`: review a saved plan offline (no config, no request)."""

from __future__ import annotations

import click

from reconciler import workflow
from reconciler.commands.options import EXIT_OK, Options, common, echo, plan_format, render_plan


@click.command()
@click.argument("plan_file", metavar="PLAN.json", type=click.Path(dir_okay=False))
@plan_format
@common
def show(opts: Options, plan_file: str, fmt: str) -> int:
    """Show a saved plan, its checksum and shape checked, without reading live state."""
    plan = workflow.load_plan(plan_file)
    echo(render_plan(plan, fmt), opts)
    return EXIT_OK


COMMANDS = [show]
