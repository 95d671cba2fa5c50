"""Plan a workspace, apply a plan, apply a saved plan: what the commands and the demo run.

Nothing here prints: each function returns data or raises a `ReconcilerError`, and the
caller renders. Each runs its coroutine to completion with SIGINT and SIGTERM handled as
runner.py describes; `bar`, when given, draws progress (`bar(what, total)` yields the
engine's progress callback, or None).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from reconciler import savedplan
from reconciler.config import Config, host_allowed
from reconciler.engine import (
    Progress,
    SandboxTarget,
    apply,
    check_safety,
    close,
    connect,
    make_plan,
    stale_objects,
)
from reconciler.errors import (
    ManifestError,
    PlanFileError,
    Problem,
    ReconcilerError,
    StalePlanError,
)
from reconciler.manifest import load_workspace
from reconciler.model import Plan, Result
from reconciler.registry import PROVIDERS
from reconciler.render import planfile
from reconciler.runner import run, writing

Bar = Callable[[str, int | None], AbstractContextManager[Progress | None]]


def _no_bar(what: str, total: int | None) -> AbstractContextManager[Progress | None]:
    return nullcontext()


def plan_workspace(
    paths: list[str],
    *,
    config_file: str | None = None,
    parallelism: int | None = None,
    targets: list[str] | None = None,
    sandbox: SandboxTarget | None = None,
    bar: Bar = _no_bar,
) -> tuple[Plan, Config]:
    """Load and validate the manifests under `paths`, read live state, diff: the plan and
    the config it was made with."""
    ws = load_workspace(paths, config_file)
    if parallelism:
        ws.config.parallelism = parallelism

    async def go() -> Plan:
        providers = connect(ws.config, {r.provider for r in ws.resources}, sandbox)
        try:
            with bar("Reading live state", None) as advance:
                return await make_plan(ws.resources, providers, ws.digest, targets or [], advance)
        finally:
            await close(providers)

    return run(go()), ws.config


def refuse_unsafe(plan: Plan, config: Config) -> None:
    """`UnsafePlanError` when `plan` is over the config's safety thresholds (`--force`
    skips this call)."""
    check_safety(plan, config.safety)


def apply_plan(
    plan: Plan, config: Config, *, sandbox: SandboxTarget | None = None, bar: Bar = _no_bar
) -> list[Result]:
    """Write every change of a plan just made; one result per change."""

    async def go() -> list[Result]:
        providers = connect(config, {c.provider for c in plan.changes}, sandbox)
        try:
            with writing() as stop, bar("Applying", len(plan.changes)) as advance:
                return await apply(plan, providers, config.parallelism, advance, stop)
        finally:
            await close(providers)

    return run(go())


def load_plan(path: str | Path) -> Plan:
    """A saved plan, its checksum and schema checked; `PlanFileError` naming the file."""
    try:
        data = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PlanFileError(f"{path}: not a plan file (not UTF-8: {exc.reason})") from None
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read the plan file ({exc.strerror})") from None
    return planfile.loads(data, str(path))


def apply_saved(
    path: str | Path,
    *,
    config_file: str | None = None,
    parallelism: int | None = None,
    force: bool = False,
    bar: Bar = _no_bar,
) -> list[Result]:
    """Apply exactly a saved plan, checked against the config in force now (SPEC §4.1):
    no result at all for a plan without changes; `StalePlanError`, before any write, when
    an object changed since the plan."""
    saved = load_plan(path)
    name = str(path)
    problems = []
    for info in saved.providers:
        cls = PROVIDERS.get(info.type)
        if cls is None:
            raise ReconcilerError(f"{name}: unknown provider type {info.type!r}")
        why = host_allowed(info.base_url, cls.DEFAULTS.vendor_hosts)
        if why:
            problems.append(
                Problem(name, 1, 1, f"provider {info.alias!r}: {why}", "endpoint-safety")
            )
    if problems:
        raise ManifestError(problems)
    # The plan proves nothing (SPEC §4.1): hosts, credential variables, limits, prune and
    # protection come from the config in force now, and the plan must agree with it.
    config = savedplan.config_for(saved, savedplan.current_config(config_file), name)
    if parallelism:
        config.parallelism = parallelism
    if saved.empty:
        return []

    async def go() -> list[Result]:
        live = connect(config, {c.provider for c in saved.changes} & set(config.providers))
        try:
            # Before any request, and --force does not override these.
            refused = savedplan.refusals(saved, live, name)
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
            with writing() as stop, bar("Applying", len(saved.changes)) as advance:
                return await apply(saved, live, config.parallelism, advance, stop)
        finally:
            await close(live)

    return run(go())


__all__ = [
    "Bar",
    "apply_plan",
    "apply_saved",
    "load_plan",
    "plan_workspace",
    "refuse_unsafe",
]
