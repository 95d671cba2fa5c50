"""Read: the live state of what a run declares, and of the scopes prune or drift covers.

No diff here: `read` returns live state as a value (what the access report needs), and
diff.py turns it into changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from reconciler.core.errors import ManifestError, Problem
from reconciler.core.model import LiveObject, Resource, address_of
from reconciler.plugin.provider import Provider

Progress = Callable[[str, int], None]
"""Called with ("read" | "write", n) as work completes; the CLI may draw it."""

Key = tuple[str, str]
"""(provider alias, kind)."""


@dataclass(frozen=True)
class Reads:
    """What one run read: its declared resources and the live objects, by (alias, kind)."""

    declared: dict[Key, list[Resource]]
    """The resources read for, names resolved to ids (`--target` may narrow them)."""
    live: dict[Key, list[LiveObject]]
    """Every live object read, in the order `declared` lists the keys."""
    drift: bool = False
    """Whole declared scopes were read for every kind that can be pruned, prune or not."""
    targets: dict[str, str] = field(default_factory=dict)
    """`--target`: each address as validation spells it -> as the user typed it."""


def select(resources: list[Resource], targets: list[str]) -> list[Resource]:
    """The resources a `--target` run must read: just the targeted ones when all are
    declared; everything when one may be an undeclared object that pruning deletes."""
    if not targets:
        return resources
    declared = {r.address for r in resources}
    if set(targets) <= declared:
        return [r for r in resources if r.address in targets]
    return resources


def canonical_address(address: str, providers: dict[str, Provider]) -> str:
    """`address` with its identity parts spelled as validation spells them (the vendor's
    `canonical_identity`); unchanged when it names no provider or kind of the run."""
    alias, _, rest = address.partition("/")
    kind, _, ident = rest.partition("/")
    provider = providers.get(alias)
    if provider is None or kind not in provider.KINDS:
        return address
    parts = tuple(unquote(p) for p in ident.split("/")) if ident else ()
    return address_of(alias, kind, provider.canonical_identity(kind, parts))


def prunes(provider: Provider, kind: str) -> bool:
    """Whether the config lists the kind's prune key for this provider."""
    key = provider.KINDS[kind].prune_key
    return key is not None and key in provider.config.prune


async def read(
    resources: list[Resource],
    providers: dict[str, Provider],
    targets: list[str] | None = None,
    progress: Progress | None = None,
    drift: bool = False,
) -> Reads:
    """Resolve names to ids, then read live state for every declared object (and the
    scopes prune covers; with `drift`, the scopes of every kind that can be pruned)."""
    spelled = {canonical_address(t, providers): t for t in reversed(targets or [])}
    groups: dict[Key, list[Resource]] = {}
    for r in select(resources, list(spelled)):
        groups.setdefault((r.provider, r.kind), []).append(r)
    problems: list[Problem] = []
    for found in await asyncio.gather(
        *(providers[p].resolve(k, rs) for (p, k), rs in groups.items())
    ):
        problems.extend(found)
    if problems:
        raise ManifestError(problems)

    async def one(key: Key) -> list[LiveObject]:
        alias, kind = key
        provider = providers[alias]
        whole = prunes(provider, kind) or (drift and provider.KINDS[kind].prune_key is not None)
        objs = await provider.read(kind, groups[key], whole)
        if progress:
            progress("read", len(objs))
        return objs

    keys = list(groups)
    found_live = await asyncio.gather(*(one(k) for k in keys))
    live = dict(zip(keys, found_live, strict=True))
    return Reads(groups, live, drift, spelled)
