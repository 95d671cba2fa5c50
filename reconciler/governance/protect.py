"""Protection from prune (SPEC §5.4): `settings.protect` address globs prune never deletes.

Protection wins over an expiry too (docs/governance.md): a protected object whose `expires:` has
passed is listed as protected, never planned for delete, so `apply` with paths and
`apply PLAN.json` (which refuses any delete a glob covers) agree."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.core.model import Action, Change, Plan, Resource, Unmanaged, address_glob
from reconciler.governance.expiry import EXPIRED


def matches(address: str, patterns: Iterable[str]) -> str | None:
    """The first glob (`*`, `?`; case-sensitive) that `address` matches, or None."""
    return next((p for p in patterns if address_glob(p).fullmatch(address)), None)


def hold(plan: Plan, change: Change) -> None:
    """List the expired delete `change` of a protected object as protected, with its
    expiry, instead of planning it (the caller leaves it out of `plan.changes`)."""
    plan.protected.append(change.address)
    plan.protected_expired[change.address] = change.expires or ""
    plan.protected.sort()


def keep(plan: Plan, resources: list[Resource], patterns: tuple[str, ...]) -> None:
    """Take out of `plan` every prune delete of an undeclared object a glob protects; list
    it in `Plan.protected` (and, being live and undeclared, as a protected unmanaged
    object for drift); and every delete of a protected object that its expiry causes,
    listed as protected with the expiry."""
    if not patterns:
        return
    declared = {r.address for r in resources}
    kept: list[Change] = []
    for change in plan.changes:
        if _pruned(change, declared) and matches(change.address, patterns):
            assert change.live is not None
            plan.protected.append(change.address)
            plan.unmanaged.append(Unmanaged(change.provider, change.kind, change.live, True))
        elif _expired(change) and matches(change.address, patterns):
            hold(plan, change)
        else:
            kept.append(change)
    plan.changes[:] = kept
    # Drift (prune off) lists undeclared objects as unmanaged: a protected one is marked so,
    # as a vendor's own protection (`protected_roles`) is.
    for u in plan.unmanaged:
        if not u.protected and matches(u.address, patterns):
            u.protected = True
    plan.protected.sort()
    plan.unmanaged.sort(key=lambda u: u.address)


def _expired(change: Change) -> bool:
    return change.action is Action.DELETE and change.reason == EXPIRED


def _pruned(change: Change, declared: set[str]) -> bool:
    return (
        change.action is Action.DELETE
        and change.live is not None
        and change.address not in declared
    )


def refusal(change: Change, patterns: tuple[str, ...]) -> str | None:
    """Why a saved plan may not carry `change`: a delete of a protected address. A plan
    file cannot prove the object is declared (its source is its own word), so every delete
    a glob matches is refused."""
    if change.action is not Action.DELETE:
        return None
    glob = matches(change.address, patterns)
    if glob is None:
        return None
    return f"is protected from prune (settings.protect {glob!r}): a saved plan may not delete it"
