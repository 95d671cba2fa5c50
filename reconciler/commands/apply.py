"""`reconciler apply`: the manifests (after a confirmation), or exactly a saved plan."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from reconciler.commands.options import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Options,
    at_option,
    common,
    echo,
    paths_argument,
    plural,
    policy_option,
    provider_option,
    require_manifests,
    sandbox_options,
)
from reconciler.commands.progress import progress
from reconciler.commands.session import maybe_sandbox
from reconciler.core.errors import ReconcilerError
from reconciler.core.model import Outcome, Result
from reconciler.core.runner import interrupted
from reconciler.engine import workflow
from reconciler.render import text


@click.command(name="apply")
@paths_argument
@click.option("--auto-approve", is_flag=True, help="Skip the confirmation.")
@click.option("--force", is_flag=True, help="Apply even over the safety thresholds and the guards.")
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
def apply_cmd(
    opts: Options,
    paths: tuple[str, ...],
    auto_approve: bool,
    force: bool,
    targets: tuple[str, ...],
    base: str | None,
    only: tuple[str, ...],
    sandbox: bool,
    sandbox_state: str | None,
) -> int:
    """Apply the manifests, or exactly a saved plan (apply PLAN.json)."""
    bar = functools.partial(progress, True)
    if len(paths) == 1 and paths[0].endswith(".json") and Path(paths[0]).is_file():
        if click.get_current_context().meta.get("at") is not None:
            # A saved plan's expiries are checked against the real clock, never a chosen one.
            raise ReconcilerError("--at does not apply to a saved plan; nothing was changed")
        if base is not None:
            # A saved plan already holds exactly what it read: it is applied as it is.
            raise ReconcilerError("--base does not apply to a saved plan; nothing was changed")
        # A saved plan's seed is never looked for beside the plan file: the default seed,
        # or --sandbox-state (the one `plan --sandbox` used, when it was not the default).
        with maybe_sandbox(sandbox, sandbox_state, [], opts, writes=True) as target:
            results = workflow.apply_saved(
                paths[0],
                config_file=opts.config,
                parallelism=opts.parallelism,
                force=force,
                bar=bar,
                only=list(only),
                sandbox=target,
                pol=opts.policy,
            )
        if not results and only:
            echo(f"No changes for provider {', '.join(only)} in {paths[0]}.", opts)
            return EXIT_OK
        if not results:
            echo("No changes. Live state matches the manifests.", opts)
            return EXIT_OK
        return report(results, opts)
    with maybe_sandbox(sandbox, sandbox_state, list(paths), opts, writes=True) as target:
        require_manifests(paths, opts.config)
        plan, config = workflow.plan_workspace(
            list(paths),
            config_file=opts.config,
            parallelism=opts.parallelism,
            targets=list(targets),
            sandbox=target,
            bar=bar,
            only=list(only),
            pol=opts.policy,
            base=base,
        )
        echo(text.render_plan(plan), opts)
        if plan.empty:
            return EXIT_OK
        refusals = workflow.would_refuse(plan, config)
        if refusals and not force:
            echo(text.refusal_line(refusals), opts)
        # What refuses the whole plan does so before the question; a guard, only its change.
        workflow.refuse_unsafe(refusals, force)
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
                return EXIT_ERROR
        results = workflow.apply_plan(
            plan, config, sandbox=target, bar=bar, force=force, parallelism=opts.parallelism
        )
    return report(results, opts)


def report(results: list[Result], opts: Options) -> int:
    """The per-object results and the exit code: 0 all applied, 130 interrupted, else 1
    (a change refused by a guard included)."""
    echo(text.render_results(results), opts)
    skipped = sum(1 for r in results if r.outcome is Outcome.SKIPPED)
    if skipped or interrupted():
        echo(
            f"Interrupted: {plural(skipped, 'object')} not started; run apply again to converge.",
            opts,
            err=True,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK if all(r.outcome is Outcome.APPLIED for r in results) else EXIT_ERROR


COMMANDS = [apply_cmd]
