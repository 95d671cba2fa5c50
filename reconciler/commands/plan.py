"""`plan`, `apply` and `drift`: the read-diff-write loop."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click
from deepdiff import DeepDiff

from reconciler import savedplan
from reconciler.cli import Options, common, echo
from reconciler.commands.progress import progress
from reconciler.commands.session import maybe_sandbox, sandbox_options
from reconciler.config import Config, host_allowed
from reconciler.engine import (
    SandboxTarget,
    apply,
    check_safety,
    close,
    connect,
    make_plan,
    stale_objects,
)
from reconciler.errors import ManifestError, Problem, ReconcilerError, StalePlanError
from reconciler.manifest import load_workspace
from reconciler.model import Outcome, Plan, Result
from reconciler.registry import PROVIDERS
from reconciler.render import planfile, text
from reconciler.render.markdown import render_markdown
from reconciler.runner import interrupted, run, writing


async def _plan(
    paths: list[str],
    opts: Options,
    target: SandboxTarget | None,
    targets: list[str],
    show_progress: bool = True,
) -> tuple[Plan, Config]:
    ws = load_workspace(paths, opts.config)
    if opts.parallelism:
        ws.config.parallelism = opts.parallelism
    providers = connect(ws.config, {r.provider for r in ws.resources}, target)
    try:
        with progress(show_progress, "Reading live state") as advance:
            plan = await make_plan(ws.resources, providers, ws.digest, targets, advance)
    finally:
        await close(providers)
    return plan, ws.config


def _show(plan: Plan, fmt: str, opts: Options, title: str = "Plan") -> None:
    if fmt == "json":
        echo(planfile.dumps(plan).rstrip("\n"), opts)
    elif fmt == "markdown":
        echo(render_markdown(plan, title), opts)
    else:
        echo(text.render_plan(plan), opts)


def _planned(
    opts: Options,
    paths: tuple[str, ...],
    targets: tuple[str, ...],
    sandbox: bool,
    state: str | None,
    fmt: str = "text",
) -> tuple[Plan, Config]:
    with maybe_sandbox(sandbox, state, list(paths), opts) as target:
        return run(_plan(list(paths), opts, target, list(targets), fmt == "text"))


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", metavar="PLAN.json", type=click.Path(dir_okay=False), help="Save the plan.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes.")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS", help="Only this object.")
@sandbox_options
@common
def plan(
    opts: Options,
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    sandbox: bool,
    sandbox_state: str | None,
) -> int:
    """Show what apply would change."""
    result, _ = _planned(opts, paths, targets, sandbox, sandbox_state, fmt)
    _show(result, fmt, opts)
    if out:
        Path(out).write_text(planfile.dumps(result), encoding="utf-8")
        if fmt == "text":
            echo(f"Saved the plan to {out}: apply it with `reconciler apply {out}`.", opts)
    return 2 if detailed_exitcode and not result.empty else 0


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@sandbox_options
@common
def drift(
    opts: Options, paths: tuple[str, ...], fmt: str, sandbox: bool, sandbox_state: str | None
) -> int:
    """Report drift between live state and the manifests: exit 0 in sync, 2 drifted, 1 error."""
    result, _ = _planned(opts, paths, (), sandbox, sandbox_state, fmt)
    if fmt == "json":
        echo(json.dumps(drift_report(result), indent=2), opts)
    else:
        _show(result, fmt, opts, title="Drift")
    return 0 if result.empty else 2


def explain(before: object, after: object) -> dict[str, object]:
    """What differs inside one field, in deepdiff's terms (items added, removed, changed)."""
    return dict(json.loads(DeepDiff(before, after, ignore_order=True).to_json()))


def drift_report(plan: Plan) -> dict[str, object]:
    doc = planfile.to_dict(plan)
    return {
        "in_sync": plan.empty,
        "objects_in_sync": plan.in_sync,
        "drifted": [
            {
                "address": c["address"],
                "action": c["action"],
                "fields": [{**f, "diff": explain(f["before"], f["after"])} for f in c["fields"]],
                "members": c["members"],
            }
            for c in doc["changes"]
        ],
        "summary": doc["summary"],
    }


@click.command(name="apply")
@click.argument("paths", nargs=-1, required=True)
@click.option("--auto-approve", is_flag=True, help="Skip the confirmation.")
@click.option("--force", is_flag=True, help="Apply even over the safety thresholds.")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS", help="Only this object.")
@sandbox_options
@common
def apply_cmd(
    opts: Options,
    paths: tuple[str, ...],
    auto_approve: bool,
    force: bool,
    targets: tuple[str, ...],
    sandbox: bool,
    sandbox_state: str | None,
) -> int:
    """Apply the manifests, or exactly a saved plan (apply PLAN.json)."""
    if len(paths) == 1 and paths[0].endswith(".json") and Path(paths[0]).is_file():
        return _apply_saved(opts, Path(paths[0]), force)
    with maybe_sandbox(sandbox, sandbox_state, list(paths), opts) as target:
        result, config = run(_plan(list(paths), opts, target, list(targets)))
        echo(text.render_plan(result), opts)
        if result.empty:
            return 0
        if not force:
            check_safety(result, config.safety)
        if not auto_approve:
            if not sys.stdin.isatty():
                raise ReconcilerError(
                    "apply needs --auto-approve when not run at a terminal; nothing was changed"
                )
            answer = click.prompt(
                "Apply these changes? Only 'yes' will be accepted", default="", show_default=False
            )
            if answer.strip() != "yes":
                echo("Apply cancelled; nothing was changed.", opts)
                return 1
        results = run(_write(result, config, target, opts))
    return _report(results, opts)


async def _write(
    plan: Plan, config: Config, target: SandboxTarget | None, opts: Options
) -> list[Result]:
    providers = connect(config, {c.provider for c in plan.changes}, target)
    try:
        with writing() as stop, progress(True, "Applying", len(plan.changes)) as advance:
            return await apply(plan, providers, config.parallelism, advance, stop)
    finally:
        await close(providers)


def _report(results: list[Result], opts: Options) -> int:
    echo(text.render_results(results), opts)
    skipped = sum(1 for r in results if r.outcome is Outcome.SKIPPED)
    if skipped or interrupted():
        echo(
            f"Interrupted: {skipped} object{'s' * (skipped != 1)} not started; "
            "run apply again to converge.",
            opts,
            err=True,
        )
        return 130
    return 0 if all(r.outcome is Outcome.APPLIED for r in results) else 1


def _apply_saved(opts: Options, path: Path, force: bool) -> int:
    saved = planfile.loads(path.read_text(encoding="utf-8"), str(path))
    problems = []
    for info in saved.providers:
        cls = PROVIDERS.get(info.type)
        if cls is None:
            raise ReconcilerError(f"{path}: unknown provider type {info.type!r}")
        why = host_allowed(info.base_url, cls.DEFAULTS.vendor_hosts)
        if why:
            problems.append(
                Problem(str(path), 1, 1, f"provider {info.alias!r}: {why}", "endpoint-safety")
            )
    if problems:
        raise ManifestError(problems)
    # The plan proves nothing (SPEC §4.1): hosts, credential variables, limits, prune and
    # protection come from the config in force now, and the plan must agree with it.
    config = savedplan.config_for(saved, savedplan.current_config(opts.config), str(path))
    if opts.parallelism:
        config.parallelism = opts.parallelism
    if saved.empty:
        echo("No changes. Live state matches the manifests.", opts)
        return 0

    async def go() -> list[Result]:
        live = connect(config, {c.provider for c in saved.changes} & set(config.providers))
        try:
            # Before any request, and --force does not override these.
            refused = savedplan.refusals(saved, live, str(path))
            if refused:
                raise ManifestError(refused)
            if not force:
                check_safety(
                    dataclasses.replace(saved, existing=savedplan.existing_at_least(saved)),
                    config.safety,
                )
            stale = await stale_objects(saved, live)
            if stale:
                lines = [f"  {c.address}: {why}" for c, why in stale]
                raise StalePlanError(
                    f"plan is stale: run plan again ({len(stale)} object"
                    f"{'s' * (len(stale) != 1)} changed since the plan; nothing was written)\n"
                    + "\n".join(lines)
                )
            with writing() as stop, progress(True, "Applying", len(saved.changes)) as adv:
                return await apply(saved, live, config.parallelism, adv, stop)
        finally:
            await close(live)

    results = run(go())
    return _report(results, opts)


COMMANDS = [plan, apply_cmd, drift]
