"""`reconciler drift`: a read-only plan for cron jobs, spoken from the live side."""

from __future__ import annotations

import functools
import json
from typing import Any

import click

from reconciler.commands.options import (
    EXIT_CHANGES,
    EXIT_OK,
    Options,
    at_option,
    common,
    echo,
    paths_argument,
    plan_format,
    policy_option,
    provider_option,
    require_manifests,
    sandbox_options,
)
from reconciler.commands.progress import progress
from reconciler.commands.session import maybe_sandbox
from reconciler.core.model import Plan
from reconciler.engine import workflow
from reconciler.plans import planfile
from reconciler.render import drift as words
from reconciler.render.markdown import render_drift_markdown
from reconciler.render.text import field_deltas


@click.command()
@paths_argument
@plan_format
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
def drift(
    opts: Options,
    paths: tuple[str, ...],
    fmt: str,
    base: str | None,
    only: tuple[str, ...],
    sandbox: bool,
    sandbox_state: str | None,
) -> int:
    """Report drift between live state and the manifests: exit 0 in sync, 2 drifted, 1 error.

    Live objects in a declared scope that no manifest declares are reported as unmanaged
    (drift), prune or not, protected ones included."""
    with maybe_sandbox(sandbox, sandbox_state, list(paths), opts) as target:
        require_manifests(paths, opts.config)
        result, _ = workflow.plan_workspace(
            list(paths),
            config_file=opts.config,
            parallelism=opts.parallelism,
            sandbox=target,
            bar=functools.partial(progress, fmt == "text"),
            only=list(only),
            drift=True,
            pol=opts.policy,
            base=base,
        )
    if fmt == "json":
        echo(json.dumps(drift_report(result), indent=2), opts)
    elif fmt == "markdown":
        echo(render_drift_markdown(result), opts)
    else:
        echo(words.render_drift(result), opts)
    return EXIT_OK if not words.count(result) else EXIT_CHANGES


def drift_report(plan: Plan) -> dict[str, object]:
    """The JSON of drift: each drifted object with its field-level diff (the same
    explanation the text output shows, as data), and the unmanaged live objects."""
    doc = planfile.to_dict(plan)
    return {
        "in_sync": not words.count(plan),
        "objects_in_sync": plan.in_sync,
        "objects_drifted": words.count(plan),
        "drifted": [
            {
                "address": c["address"],
                "action": c["action"],
                "fields": [{**f, "diff": _diff(f)} for f in c["fields"]],
                "members": c["members"],
                # An expired grant still live: `reason: "expired"`, `expires`.
                **{k: c[k] for k in ("expires", "reason") if k in c},
            }
            for c in doc["changes"]
        ],
        "unmanaged": [
            {
                "address": u.address,
                "provider": u.provider,
                "kind": u.kind,
                "identity": list(u.identity),
                "scope": u.live.scope,
                "protected": u.protected,
                "live": u.live.state,
            }
            for u in plan.unmanaged
        ],
        "ignored": doc["ignored"],
        **({"governance": doc["governance"]} if "governance" in doc else {}),
        "summary": doc["summary"],
        "message": words.summary(plan),
    }


def _diff(f: dict[str, Any]) -> list[dict[str, Any]]:
    return [d.as_dict() for d in field_deltas(f["field"], f["before"], f["after"])]


COMMANDS = [drift]
