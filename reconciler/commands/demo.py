"""`reconciler demo`: plan, apply, an expiry, an out-of-band change and drift, narrated, on a
sandbox."""

from __future__ import annotations

import contextlib
import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.commands.options import Options, common, echo
from reconciler.commands.progress import progress
from reconciler.commands.session import SEED, start
from reconciler.core import clock, notices
from reconciler.core.errors import ReconcilerError
from reconciler.core.model import Outcome, Plan
from reconciler.engine import workflow
from reconciler.engine.connect import SandboxTarget
from reconciler.governance import expiry
from reconciler.input.config import sandboxed
from reconciler.input.manifest import load_workspace
from reconciler.plugin import registry
from reconciler.render import drift, text

if TYPE_CHECKING:
    from reconciler.sandbox import Sandbox


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
"""The example workspace shipped in the package: a copy of the repository's examples/
(tests/commands/test_init_demo.py keeps the two the same)."""

DEMO_AT = datetime(2026, 12, 1, tzinfo=UTC)
"""The time the demo runs at, as `--at` would set it: the examples' expiries and ignores
are dated, so the demo's story (what is in force, what lapses next) never changes with the
calendar."""


def examples_dir() -> Path:
    if not (EXAMPLES / "reconciler.yaml").is_file():
        raise ReconcilerError(f"the example workspace {EXAMPLES} is missing from this installation")
    return EXAMPLES


def _seed(root: Path) -> Path:
    beside = root / "sandbox-state.yaml"
    return beside if beside.is_file() else SEED


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


def _next_lapse(paths: list[str], opts: Options) -> expiry.ExpiringGrant | None:
    """The soonest grant the manifests give that is still in force now (any vendor)."""
    now = clock.now()
    resources = load_workspace(paths, opts.config).resources
    return next((g for g in expiry.grants(resources) if g.when > now), None)


def _apply(opts: Options, plan: Plan, config: Any, target: SandboxTarget) -> None:
    results = workflow.apply_plan(
        plan,
        config,
        sandbox=target,
        bar=functools.partial(progress, True),
        parallelism=opts.parallelism,
    )
    echo(text.render_results(results), opts)
    if any(r.outcome is not Outcome.APPLIED for r in results):
        raise ReconcilerError("demo: apply did not converge")


def _expire(
    opts: Options, paths: list[str], target: SandboxTarget, grant: expiry.ExpiringGrant | None
) -> None:
    """Step 3, run with the clock at `grant`'s expiry (as `--at` sets it): the plan revokes
    the grant, the apply writes that, and drift at that time is clean."""
    if grant is None:
        _say(opts, "3/5 expiry", "no declared grant lapses after today: nothing to show")
        return
    when = clock.show(grant.when)
    where = Path(grant.source.file)
    with contextlib.suppress(ValueError):
        where = where.relative_to(Path(paths[0]).resolve())
    whose = f"{grant.member}'s access to " if grant.member is not None else ""
    _say(
        opts,
        "3/5 expiry",
        f"time passes: on {when} {whose}{grant.address} ends (`expires:` at "
        f"{where}:{grant.source.line}); `reconciler plan --at {when}` revokes it:",
    )
    plan, config = workflow.plan_workspace(paths, **_how(opts, target))
    echo(text.render_plan(plan), opts)
    _apply(opts, plan, config, target)
    after, _ = workflow.plan_workspace(paths, **_how(opts, target), drift=True)
    echo(drift.summary(after), opts)


@click.command()
@common
@sandboxed()
def demo(opts: Options) -> int:
    """A guided tour on the built-in sandbox: plan, apply, an expiry, an out-of-band change,
    drift. Runs from any directory, on the example workspace shipped in the package, at a
    fixed time (2026-12-01), so its output never depends on the calendar."""
    with clock.frozen(DEMO_AT):
        return _tour(opts)


def _tour(opts: Options) -> int:
    root = examples_dir()
    paths = [str(root)]
    opts.config = opts.config or str(root / "reconciler.yaml")
    sb = start(_seed(root))
    target = SandboxTarget(sb.start(), sb.credentials())
    try:
        _say(
            opts,
            "1/5 plan",
            f"the example manifests, on {clock.show(DEMO_AT)}, vs. a fresh sandbox of the "
            "vendor APIs",
        )
        plan, config = workflow.plan_workspace(paths, **_how(opts, target))
        echo(text.render_plan(plan), opts)

        _say(opts, "2/5 apply", "each write is guarded: re-read, compare, then write")
        _apply(opts, plan, config, target)
        again, _ = workflow.plan_workspace(paths, **_how(opts, target))
        echo(text.summary(again), opts)

        # From here on the demo runs at the soonest expiry's time, as `--at` would.
        grant = _next_lapse(paths, opts)
        later = grant.when if grant is not None else None
        # What is said about the later time (an expiry now past) is not a warning for today:
        # it goes to a collector of its own, dropped.
        with (
            notices.collecting(),
            clock.frozen(later) if later is not None else contextlib.nullcontext(),
        ):
            _expire(opts, paths, target, grant)

            _say(opts, "4/5 out-of-band change", "someone edits access by hand in the vendor's UI:")
            echo("  " + _meddle(sb), opts)

            _say(opts, "5/5 drift", "the cron job's `reconciler drift` finds it (exit code 2):")
            drifted, _ = workflow.plan_workspace(paths, **_how(opts, target), drift=True)
            echo(drift.render_drift(drifted), opts)
        echo("", opts)
        echo(
            "Drift detected: `reconciler apply` would put it back. Try it yourself: "
            "`reconciler init access/`, then `reconciler plan access/ --sandbox`.",
            opts,
        )
    finally:
        sb.stop()
    return 0


COMMANDS = [demo]
