"""`reconciler demo`: plan, apply, an out-of-band change and drift, narrated, on a sandbox."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler import registry, workflow
from reconciler.commands.options import Options, common, echo
from reconciler.commands.progress import progress
from reconciler.commands.session import start
from reconciler.config import sandboxed
from reconciler.engine import SandboxTarget
from reconciler.errors import ReconcilerError
from reconciler.model import Outcome
from reconciler.render import text
from reconciler.render.drift import render_drift

if TYPE_CHECKING:
    from reconciler.sandbox import Sandbox


def examples_dir() -> Path:
    for candidate in (Path(__file__).resolve().parents[2] / "examples", Path("examples")):
        if (candidate / "sandbox-state.yaml").is_file():
            return candidate
    raise ReconcilerError("demo needs the examples/ directory of a reconciler source checkout")


def _say(opts: Options, step: str, words: str) -> None:
    echo("", opts)
    echo(click.style(f"== {step}", bold=True, fg="cyan") + f"  {words}", opts)
    echo("", opts)


def _meddle(sb: Sandbox) -> str:
    """An out-of-band change, made by hand in one vendor's sandbox state: the first vendor
    whose demo step finds something to change in the example state."""
    for name, vendor in registry.vendors().items():
        change = vendor.demo_change()
        state = sb.state.get(name)
        if change is not None and isinstance(state, dict):
            said = change(state)
            if said:
                return said
    raise ReconcilerError("demo: no vendor can make an out-of-band change in the example state")


def _how(opts: Options, target: SandboxTarget) -> dict[str, Any]:
    return {"config_file": opts.config, "parallelism": opts.parallelism, "sandbox": target}


@click.command()
@common
@sandboxed()
def demo(opts: Options) -> int:
    """A guided tour on the built-in sandbox: plan, apply, an out-of-band change, drift."""
    root = examples_dir()
    paths = [str(root)]
    opts.config = opts.config or str(root / "reconciler.yaml")
    sb = start(root / "sandbox-state.yaml")
    target = SandboxTarget(sb.start(), sb.credentials())
    try:
        _say(opts, "1/4 plan", f"manifests in {root} vs. a fresh sandbox of the vendor APIs")
        plan, config = workflow.plan_workspace(paths, **_how(opts, target))
        echo(text.render_plan(plan), opts)

        _say(opts, "2/4 apply", "each write is guarded: re-read, compare, then write")
        results = workflow.apply_plan(
            plan, config, sandbox=target, bar=functools.partial(progress, True)
        )
        echo(text.render_results(results), opts)
        if any(r.outcome is not Outcome.APPLIED for r in results):
            raise ReconcilerError("demo: apply did not converge")
        again, _ = workflow.plan_workspace(paths, **_how(opts, target))
        echo(text.summary(again), opts)

        _say(opts, "3/4 out-of-band change", "someone edits access by hand in the vendor's UI:")
        echo("  " + _meddle(sb), opts)

        _say(opts, "4/4 drift", "the cron job's `reconciler drift` finds it (exit code 2):")
        drifted, _ = workflow.plan_workspace(paths, **_how(opts, target), drift=True)
        echo(render_drift(drifted), opts)
        echo("", opts)
        echo(
            "Drift detected: `reconciler apply` would put it back. "
            "Try it yourself: reconciler plan examples/ --sandbox",
            opts,
        )
    finally:
        sb.stop()
    return 0


COMMANDS = [demo]
