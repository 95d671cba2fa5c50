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
from reconciler.core.model import Finding, LiveObject, Plan, Refusals, Resource, Result
from reconciler.core.runner import run, writing
from reconciler.core.settings import Config
from reconciler.engine.core import (
    Progress,
    SandboxTarget,
    apply,
    close,
    connect,
    make_plan,
    safety_refusals,
    stale_objects,
)
from reconciler.governance import guards, ignores, protect
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
) -> tuple[Plan, Config]:
    """Load and validate the manifests under `paths`, read live state, diff: the plan and
    the config it was made with. `only` (`--provider`) limits the run to those aliases'
    documents and calls; `drift` also reads whole declared scopes for `Plan.unmanaged`;
    `pol` is the operator's policy, the floor of the settings in force."""
    ws, resources = load_only(paths, config_file, parallelism, only, pol)
    plan = _read_and_diff(ws, resources, targets or [], sandbox, bar, drift, None)
    # Active drift ignores take what they match out of the plan (SPEC §5.3).
    plan = ignores.filter_plan(
        plan,
        ws.config.ignores,
        resources,
        set(only or ws.config.providers),
        ws.config.guards.admin_permissions,
    )
    # Governance (SPEC §5.1, §5.4): protected objects leave the plan, then guards run on
    # what is left, before anything could be written.
    protect.keep(plan, resources, ws.config.protect)
    guards.attach(plan, resources, ws.config.guards)
    # What a reviewer sees first: the policy, looser settings, allows and risks.
    used = {r.provider for r in resources}
    plan.governance = dataclasses.replace(
        ws.governance,
        providers=[p for p in ws.governance.providers if p["alias"] in used],
        allows=policy.allows(plan),
        risks=policy.risks(plan, ws.config.guards),
    )
    return plan, ws.config


def load_only(
    paths: list[str],
    config_file: str | None,
    parallelism: int | None,
    only: list[str] | None,
    pol: Policy | None = None,
) -> tuple[Workspace, list[Resource]]:
    """The workspace (its settings merged over the policy `pol`), and its resources limited
    to the `--provider` aliases in `only`."""
    ws = load_workspace(paths, config_file, pol)
    if parallelism:
        ws.config.parallelism = parallelism
    resources = ws.resources
    if only:
        check_aliases(only, set(ws.config.providers), "this workspace's config")
        resources = [r for r in resources if r.provider in only]
    return ws, resources


def _read_and_diff(
    ws: Workspace,
    resources: list[Resource],
    targets: list[str],
    sandbox: SandboxTarget | None,
    bar: Bar,
    drift: bool,
    live: dict[tuple[str, str], list[LiveObject]] | None,
    claims: dict[str, list[str]] | None = None,
) -> Plan:
    async def go() -> Plan:
        providers = connect(ws.config, {r.provider for r in resources}, sandbox)
        try:
            with bar("Reading live state", None) as advance:
                plan = await make_plan(
                    resources, providers, ws.digest, targets, advance, unmanaged=drift, live=live
                )
            if claims is not None:
                claims.update(await _resolve_claims(ws, providers))
            return plan
        finally:
            await close(providers)

    return run(go())


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
    """What `plan` reads, and nothing more (the access report, SPEC §6): the workspace, its
    resources (names resolved to ids) and every live object read, by (alias, kind).
    `claims`, when given, receives what each `Person` claim by name resolves to now
    (`KindHandler.resolve_claims`: a Klipfolio group name, against the company's groups)."""
    ws, resources = load_only(paths, config_file, parallelism, only, pol)
    live: dict[tuple[str, str], list[LiveObject]] = {}
    _read_and_diff(ws, resources, [], sandbox, bar, False, live, claims)
    return ws, resources, live


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
    """What apply would refuse of `plan` under `config`, `--force` aside: the one place
    the rules are put together, for `plan`'s policy check and both forms of apply.

    Per change: a delete `settings.protect` covers (never written, whatever `--force` says),
    then each guard finding no document allows (that change is not written, the others
    are). Over the whole plan: the safety thresholds."""
    protected: dict[str, str] = {}
    guarded: dict[str, tuple[Finding, ...]] = {}
    for change in plan.changes:
        why = protect.refusal(change, config.protect)
        if why:
            protected[change.address] = why
            continue
        found = guards.refused(change, config.guards)
        if found:
            guarded[change.address] = tuple(found)
    safety = tuple(safety_refusals(plan, config.safety))
    return Refusals(guarded, protected, safety, len(plan.changes))


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
) -> list[Result]:
    """Write every change of a plan just made; one result per change. Unless `force`,
    a change with a guard finding no document allows is not written and ends refused;
    what refuses the whole plan (`refuse_unsafe`) raises before any request."""
    refusals = would_refuse(plan, config)
    refuse_unsafe(refusals, force)
    held = {} if force else refusals.guards

    async def go() -> list[Result]:
        providers = connect(config, {c.provider for c in plan.changes}, sandbox)
        try:
            with writing() as stop, bar("Applying", len(plan.changes)) as advance:
                return await apply(plan, providers, config.parallelism, advance, stop, held)
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
    """Apply exactly a saved plan, checked against the config in force now (SPEC §4.1),
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
    # The plan proves nothing (SPEC §4.1): hosts, credential variables, limits, prune and
    # protection come from the config in force now, and the plan must agree with it.
    current, _ = policy.effective(savedplan.current_config(config_file), pol)
    config = savedplan.config_for(saved, current, name, sandboxed=sandbox is not None)
    if pol is not None:
        for change in saved.changes:
            change.allows = {r: v for r, v in change.allows.items() if r in pol.allowable}
    if parallelism:
        config.parallelism = parallelism
    if saved.empty:
        return []

    async def go() -> list[Result]:
        live = connect(config, {c.provider for c in saved.changes} & set(config.providers), sandbox)
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
                return await apply(saved, live, config.parallelism, advance, stop, held)
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
