"""Apply: write a plan's changes, each re-read and compared first; one result per object."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from reconciler.core.errors import ConflictError, ProviderError
from reconciler.core.model import (
    Change,
    Finding,
    LiveObject,
    Outcome,
    Plan,
    Result,
    address_of,
    fingerprint,
)
from reconciler.engine.read import Progress
from reconciler.plugin.provider import Provider


async def apply(
    plan: Plan,
    providers: dict[str, Provider],
    parallelism: int,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
    refused: Mapping[str, Sequence[Finding]] | None = None,
) -> list[Result]:
    """Write every change, `parallelism` objects at a time; each ends applied, conflict, failed.

    A change whose address `refused` names (the guards it trips that no document allows:
    `workflow.would_refuse`) is not written and ends refused; the others are written all
    the same (docs/governance.md: the refusal is per object).

    When `stop` is set (SIGINT, SIGTERM), objects already being written finish; the rest
    are not started and end as skipped, so no object is left half-written by us.
    """
    sem = asyncio.Semaphore(max(1, parallelism))
    held = refused or {}

    async def one(change: Change) -> Result:
        found = held.get(change.address)
        if found:
            return _refused(change, found)
        async with sem:
            result = await _apply_one(change, providers[change.provider], stop)
        if progress and result.outcome is not Outcome.SKIPPED:
            progress("write", 1)
        return result

    return list(await asyncio.gather(*(one(c) for c in plan.changes)))


NOT_STARTED = "not started: interrupted"


def _refused(change: Change, found: Sequence[Finding]) -> Result:
    rules = tuple(f.rule for f in found)
    detail = "; ".join(f"{f.rule}: {f.message}" for f in found)
    return Result(
        change,
        Outcome.REFUSED,
        f"{detail}; not written (--force applies it, or allow the rule in the document's "
        "metadata.allow with a reason)",
        rules=rules,
    )


async def _apply_one(
    change: Change, provider: Provider, stop: asyncio.Event | None = None
) -> Result:
    spec = provider.KINDS[change.kind]
    try:
        current = None
        if stop is not None and stop.is_set():
            return Result(change, Outcome.SKIPPED, NOT_STARTED)
        if not spec.revisioned:
            current = await provider.read_one(change)
            now = fingerprint(current.state if current else None, change.managed)
            if now != change.fingerprint:
                return Result(change, Outcome.CONFLICT, _moved(change, current))
        # The last moment to stop: a signal during the pre-write read means no write.
        if stop is not None and stop.is_set():
            return Result(change, Outcome.SKIPPED, NOT_STARTED)
        await provider.write(change, current)
        return Result(change, Outcome.APPLIED)
    except ConflictError as exc:
        return Result(change, Outcome.CONFLICT, exc.detail)
    except ProviderError as exc:
        return Result(change, Outcome.FAILED, str(exc))


def _moved(change: Change, current: LiveObject | None) -> str:
    if change.live is None:
        return "changed since the plan: it now exists; not written"
    if current is None:
        return "changed since the plan: it no longer exists; not written"
    return "changed since the plan; not written (run plan again)"


async def stale_objects(plan: Plan, providers: dict[str, Provider]) -> list[tuple[Change, str]]:
    """Objects whose live revision or fingerprint differs from the plan's."""

    async def check(change: Change) -> tuple[Change, str] | None:
        provider = providers[change.provider]
        current = await provider.read_one(change)
        named = provider.KINDS[change.kind].prune_key is not None
        if named and current is not None and current.identity != change.identity:
            # Read by the plan's vendor id: that id must still be the object the plan names.
            found = address_of(change.provider, change.kind, current.identity)
            return change, f"its vendor id now names {found}"
        if provider.KINDS[change.kind].revisioned and change.live and current:
            if current.revision != change.revision:
                return change, f"revision {change.revision} -> {current.revision}"
            return None
        now = fingerprint(current.state if current else None, change.managed)
        if now != change.fingerprint:
            return change, _moved(change, current).split(";")[0]
        return None

    found = await asyncio.gather(*(check(c) for c in plan.changes))
    return [f for f in found if f is not None]
