"""`reconciler drift`: a read-only plan for cron jobs, spoken from the live side."""

from __future__ import annotations

import functools
import json
from typing import Any

import click

from reconciler import workflow
from reconciler.commands.options import (
    EXIT_CHANGES,
    EXIT_OK,
    Options,
    common,
    echo,
    plan_format,
    render_plan,
    sandbox_options,
)
from reconciler.commands.progress import progress
from reconciler.commands.session import maybe_sandbox
from reconciler.model import Plan
from reconciler.render import planfile
from reconciler.render.text import field_deltas


@click.command()
@click.argument("paths", nargs=-1, required=True)
@plan_format
@sandbox_options
@common
def drift(
    opts: Options, paths: tuple[str, ...], fmt: str, sandbox: bool, sandbox_state: str | None
) -> int:
    """Report drift between live state and the manifests: exit 0 in sync, 2 drifted, 1 error."""
    with maybe_sandbox(sandbox, sandbox_state, list(paths), opts) as target:
        result, _ = workflow.plan_workspace(
            list(paths),
            config_file=opts.config,
            parallelism=opts.parallelism,
            sandbox=target,
            bar=functools.partial(progress, fmt == "text"),
        )
    if fmt == "json":
        echo(json.dumps(drift_report(result), indent=2), opts)
    else:
        echo(render_plan(result, fmt, title="Drift"), opts)
    return EXIT_OK if result.empty else EXIT_CHANGES


def drift_report(plan: Plan) -> dict[str, object]:
    """The JSON of drift: each drifted object with its field-level diff (the same
    explanation the text output shows, as data)."""
    doc = planfile.to_dict(plan)
    return {
        "in_sync": plan.empty,
        "objects_in_sync": plan.in_sync,
        "drifted": [
            {
                "address": c["address"],
                "action": c["action"],
                "fields": [{**f, "diff": _diff(f)} for f in c["fields"]],
                "members": c["members"],
            }
            for c in doc["changes"]
        ],
        "summary": doc["summary"],
    }


def _diff(f: dict[str, Any]) -> list[dict[str, Any]]:
    return [d.as_dict() for d in field_deltas(f["field"], f["before"], f["after"])]


COMMANDS = [drift]
