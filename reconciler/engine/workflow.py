"""Plan a workspace, apply a plan, apply a saved plan: what the commands and the demo run.

Nothing here prints: each function returns data or raises a `ReconcilerError`, and the
caller renders. Each runs its coroutine to completion with SIGINT and SIGTERM handled as
runner.py describes; `bar`, when given, draws progress (`bar(what, total)` yields the
engine's progress callback, or None).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from reconciler.core.errors import (
    ManifestError,
    PlanFileError,
    Problem,
    ReconcilerError,
    StalePlanError,
    UnsafePlanError,
)
from reconciler.core.model import (
    LiveObject,
    Plan,
    Refusals,
    Resource,
    Result,
)
from reconciler.core.runner import run, writing
from reconciler.core.settings import Config
from reconciler.engine import base as baseref
from reconciler.engine import partial
from reconciler.engine.apply import apply, stale_objects
from reconciler.engine.connect import SandboxTarget, close, connect
from reconciler.engine.diff import changes, plan_of
from reconciler.engine.read import Progress, prunes, read
from reconciler.governance import pipeline
from reconciler.governance.phase import Context
from reconciler.input import policy
from reconciler.input.manifest import Workspace, load_workspace
from reconciler.input.policy import Policy
from reconciler.plans import planfile
from reconciler.plans import saved as savedplan
from reconciler.plugin.provider import Provider

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
    only: list[str] | None = None,
    drift: bool = False,
    pol: Policy | None = None,
    base: str | None = None,
) -> tuple[Plan, Config]:
    """Load and validate the manifests under `paths`, read live state, diff, govern: the
    plan and the config it was made with. `only` (`--provider`) limits the run to those
    aliases' documents and calls; `drift` also reads whole declared scopes for
    `Plan.unmanaged`; `pol` is the operator's policy, the floor of the settings in force;
    `parallelism` (`--parallelism`) bounds the requests in flight. `base` (`--base REF`)
    reads only the objects whose documents changed since that Git revision and marks each
    change's cause, the pull request or drift (engine/base.py, engine/partial.py)."""
    ws, resources = load_only(paths, config_file, only, pol)
    aliases = frozenset(only or ws.config.providers)
    sel = None
    if base is not None:
        commit, base_ws = baseref.load_base(base, paths, config_file, pol, ws)
        sel = partial.select(base, commit, base_ws, ws, resources)

    async def go() -> Plan:
        wanted = resources if sel is None else sel.changed
        removed = [] if sel is None else sel.removed
        known = aliases & set(ws.config.providers)
        used = {r.provider for r in wanted} | {r.provider for r in removed if r.provider in known}
        providers = connect(ws.config, used, sandbox, parallelism)
        try:
            if sel is not None:
                removed = partial.removed_to_read(sel, aliases, providers, drift)
            with bar("Reading live state", None) as advance:
                reads = await read([*wanted, *removed], providers, targets, advance, drift)
            reads = partial.without_removed(reads, removed)
            diffed = changes(reads, providers)
            plan = plan_of(reads, diffed, resources, providers, ws.digest)
            if sel is not None:
                plan = partial.without_unread(plan, sel)
            ctx = Context(
                ws.config,
                resources,
                aliases,
                reads.declared,
                reads.live,
                diffed.diffs,
                providers,
                frozenset(reads.targets),
            )
            return pipeline.govern(plan, ctx)
        finally:
            await close(providers)

    plan = run(go())
    # What a reviewer sees first: the policy, looser settings, allows and risks.
    used = {r.provider for r in resources}
    governance = dataclasses.replace(
        ws.governance,
        providers=[p for p in ws.governance.providers if p["alias"] in used],
        allows=policy.allows(plan),
        risks=policy.risks(plan, ws.config.guards),
    )
    if sel is not None:
        plan, governance = partial.with_causes(plan, governance, sel, resources, ws.config)
    return dataclasses.replace(plan, governance=governance), ws.config


def load_only(
    paths: list[str],
    config_file: str | None,
    only: list[str] | None,
    pol: Policy | None = None,
) -> tuple[Workspace, list[Resource]]:
    """The workspace (its settings merged over the policy `pol`), and its resources limited
    to the `--provider` aliases in `only`."""
    ws = load_workspace(paths, config_file, pol)
    resources = ws.resources
    if only:
        check_aliases(only, set(ws.config.providers), "this workspace's config")
        resources = [r for r in resources if r.provider in only]
    return ws, resources


def read_live(
    paths: list[str],
    *,
    config_file: str | None = None,
    parallelism: int | None = None,
    sandbox: SandboxTarget | None = None,
    bar: Bar = _no_bar,
    only: list[str] | None = None,
    pol: Policy | None = None,
    claims: dict[str, list[str]] | None = None,
) -> tuple[Workspace, list[Resource], dict[tuple[str, str], list[LiveObject]]]:
    """What `plan` reads, then what the access report adds (`KindHandler.read_report`: an
    undeclared role's permissions, objects' names), and no diff: the workspace, its
    resources (names resolved to ids) and every live object read, by (alias, kind).
    `claims`, when given, receives what each `Person` claim by name resolves to now
    (`KindHandler.resolve_claims`: a Klipfolio group name, against the company's groups)."""
    ws, resources = load_only(paths, config_file, only, pol)

    async def go() -> dict[tuple[str, str], list[LiveObject]]:
        providers = connect(ws.config, {r.provider for r in resources}, sandbox, parallelism)
        try:
            with bar("Reading live state", None) as advance:
                reads = await read(resources, providers, [], advance)
            keys = list(reads.live)
            shown = await asyncio.gather(
                *(
                    providers[alias].read_report(
                        kind,
                        reads.declared[(alias, kind)],
                        reads.live[(alias, kind)],
                        prunes(providers[alias], kind),
                    )
                    for alias, kind in keys
                )
            )
            if claims is not None:
                claims.update(await _resolve_claims(ws, providers))
            return dict(zip(keys, shown, strict=True))
        finally:
            await close(providers)

    return ws, resources, run(go())


async def _resolve_claims(ws: Workspace, providers: dict[str, Provider]) -> dict[str, list[str]]:
    """Every Person claim by name, resolved with each provider of the run: key -> keys."""
    keys = {key for p in ws.persons for key in p.claims}
    if not keys:
        return {}
    calls = [
        provider.resolve_claims(kind, keys)
        for provider in providers.values()
        for kind in provider.KINDS
    ]
    resolved: dict[str, set[str]] = {}
    for found in await asyncio.gather(*calls):
        for key, ids in found.items():
            resolved.setdefault(key, set()).update(ids)
    return {key: sorted(ids) for key, ids in resolved.items()}


def check_aliases(only: list[str], known: set[str], where: str) -> None:
    """`ReconcilerError` (exit 1) naming each `--provider` alias that is not in `known`."""
    unknown = sorted(set(only) - known)
    if unknown:
        raise ReconcilerError(
            f"--provider: unknown provider alias {', '.join(map(repr, unknown))}; "
            f"the aliases of {where} are: {', '.join(sorted(known)) or '(none)'}"
        )


def would_refuse(plan: Plan, config: Config) -> Refusals:
    """What apply would refuse of `plan` under `config`, `--force` aside: the governance
    pipeline's `refuse` hooks, for `plan`'s policy check and both forms of apply.

    Per change: a delete `settings.protect` covers (never written, whatever `--force` says),
    then each guard finding no document allows (that change is not written, the others
    are). Over the whole plan: the safety thresholds."""
    return pipeline.refusals(plan, Context(config))


def refuse_unsafe(refusals: Refusals, force: bool, path: str | None = None) -> None:
    """Raise for what refuses the whole plan, before any write: a protected change
    (`ManifestError`, at `path` for a saved plan; `--force` does not override it), then,
    unless `force`, the safety thresholds (`UnsafePlanError`). Guard findings refuse only
    their own change: `apply_plan` and `apply_saved` report those as refused."""
    if refusals.protected:
        where = path or "plan"
        raise ManifestError(
            [
                Problem(where, 1, 1, f"{a}: {why}; refused, nothing was written", "protected")
                for a, why in sorted(refusals.protected.items())
            ]
        )
    if refusals.safety and not force:
        raise UnsafePlanError("; ".join(refusals.safety) + "; use --force to apply anyway")


def apply_plan(
    plan: Plan,
    config: Config,
    *,
    sandbox: SandboxTarget | None = None,
    bar: Bar = _no_bar,
    force: bool = False,
    parallelism: int | None = None,
) -> list[Result]:
    """Write every change of a plan just made, `parallelism` (default: the config's) objects
    at a time; one result per change. Unless `force`,
    a change with a guard finding no document allows is not written and ends refused;
    what refuses the whole plan (`refuse_unsafe`) raises before any request."""
    refusals = would_refuse(plan, config)
    refuse_unsafe(refusals, force)
    held = {} if force else refusals.guards

    async def go() -> list[Result]:
        providers = connect(config, {c.provider for c in plan.changes}, sandbox, parallelism)
        try:
            with writing() as stop, bar("Applying", len(plan.changes)) as advance:
                width = parallelism or config.parallelism
                return await apply(plan, providers, width, advance, stop, held)
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
    only: list[str] | None = None,
    sandbox: SandboxTarget | None = None,
    pol: Policy | None = None,
) -> list[Result]:
    """Apply exactly a saved plan, checked against the config in force now (docs/ci.md),
    merged over the policy `pol` as for a plan (a recorded allow the policy does not make
    allowable is not honoured):
    no result at all for a plan without changes; `StalePlanError`, before any write, when
    an object changed since the plan. `only` (`--provider`) applies just those aliases'
    changes of the plan, exactly as planned, and touches no other provider.

    With `sandbox` (`apply PLAN.json --sandbox`) every provider of the plan is pointed at
    the sandbox instead: the plan's base URLs (a sandbox's loopback port from an earlier
    run, or a vendor's host) are then deliberately not checked nor compared, since no
    request goes to them and no real credential is sent; everything else is."""
    saved = load_plan(path)
    name = str(path)
    if only:
        check_aliases(only, {p.alias for p in saved.providers}, f"the plan {name}")
        saved = dataclasses.replace(
            saved,
            changes=[c for c in saved.changes if c.provider in only],
            providers=[p for p in saved.providers if p.alias in only],
            existing={k: n for k, n in saved.existing.items() if k[0] in only},
        )
    savedplan.check_endpoints(saved, name, sandboxed=sandbox is not None)
    # The plan proves nothing: hosts, credential variables, limits, prune and
    # protection come from the config in force now, and the plan must agree with it.
    current, _ = policy.effective(savedplan.current_config(config_file), pol)
    config = savedplan.config_for(saved, current, name, sandboxed=sandbox is not None)
    if pol is not None:
        allowable = pol.allowable
        saved = dataclasses.replace(
            saved,
            changes=[
                dataclasses.replace(c, allows={r: v for r, v in c.allows.items() if r in allowable})
                for c in saved.changes
            ],
        )
    if saved.empty:
        return []

    async def go() -> list[Result]:
        aliases = {c.provider for c in saved.changes} & set(config.providers)
        live = connect(config, aliases, sandbox, parallelism)
        try:
            # Before any request, and --force does not override these (but for guards and
            # safety); a guard refuses only its own change, reported after the others.
            refused = savedplan.refusals(saved, live, name)
            if refused:
                raise ManifestError(refused)
            refusals = would_refuse(
                dataclasses.replace(saved, existing=savedplan.existing_at_least(saved)), config
            )
            refuse_unsafe(refusals, force, name)
            held = {} if force else refusals.guards
            stale = await stale_objects(saved, live)
            if stale:
                lines = [f"  {c.address}: {why}" for c, why in stale]
                raise StalePlanError(
                    f"plan is stale: run plan again ({len(stale)} object"
                    f"{'s' * (len(stale) != 1)} changed since the plan; nothing was written)\n"
                    + "\n".join(lines)
                )
            with writing() as stop, bar("Applying", len(saved.changes)) as advance:
                width = parallelism or config.parallelism
                return await apply(saved, live, width, advance, stop, held)
        finally:
            await close(live)

    return run(go())


__all__ = [
    "Bar",
    "apply_plan",
    "apply_saved",
    "check_aliases",
    "load_plan",
    "plan_workspace",
    "read_live",
    "refuse_unsafe",
    "would_refuse",
]
