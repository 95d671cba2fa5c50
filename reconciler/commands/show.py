"""`reconciler show PLAN.json`: review a saved plan offline (no config, no request)."""

from __future__ import annotations

import dataclasses

import click

from reconciler.commands.options import EXIT_OK, Options, common, echo, plan_format, render_plan
from reconciler.core.model import Governance
from reconciler.core.settings import GuardSettings
from reconciler.engine import workflow
from reconciler.governance import guards
from reconciler.input import policy


@click.command()
@click.argument("plan_file", metavar="PLAN.json", type=click.Path(dir_okay=False))
@plan_format
@common
def show(opts: Options, plan_file: str, fmt: str) -> int:
    """Show a saved plan, its checksum and shape checked, without reading live state."""
    plan = workflow.load_plan(plan_file)
    # The file's own findings prove nothing: the guards run again, with default settings
    # (there is no config here) and the allows the plan records.
    for change in plan.changes:
        change.guards = guards.findings(change, GuardSettings())
    # The recorded governance block is shown as recorded; its risks are recomputed the same
    # way, so an edited file cannot hide one.
    gov = plan.governance or Governance(recorded=False)
    plan.governance = dataclasses.replace(gov, risks=policy.risks(plan, GuardSettings()))
    echo(render_plan(plan, fmt), opts)
    return EXIT_OK


COMMANDS = [show]
