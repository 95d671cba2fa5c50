"""`Person` documents (docs/access.md): who is behind the principals of each vendor.

A core kind: no provider, never sent to an API. A person claims principals (emails,
Golem accounts, Salesforce users, Klipfolio groups); each vendor's kind handlers say which
principal keys a claim names (`KindHandler.claims`), in the spelling their grants use, so
the access report can join rows across vendors into its `person` column. A principal
claimed by two persons is a validation error naming both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core import notices
from reconciler.core.errors import ManifestError, Problem
from reconciler.core.model import Source
from reconciler.core.yamlload import Located
from reconciler.plugin.registry import providers

KIND = "Person"
CORE_KINDS: tuple[str, ...] = (KIND,)
"""Kinds the core itself reads: no provider serves them."""
FIELDS = ("emails", "golem_accounts", "salesforce_users", "klipfolio_groups")
"""The spec fields that claim principals."""


@dataclass
class Person:
    name: str
    source: Source
    claims: dict[str, Source] = field(default_factory=dict)
    """Principal key -> where the claim is written."""
    written: dict[str, str] = field(default_factory=dict)
    """Principal key -> the claim as written (`klipfolio_groups 'Finance'`), for messages."""


def claims_of(spec: dict[str, Any]) -> set[str]:
    """Every principal key a Person spec claims, as the vendors spell them."""
    found: set[str] = set()
    for cls in providers().values():
        for handler in cls.handlers.values():
            found |= handler.claims(spec)
    return found


def read(doc: Located) -> Person:
    """A validated Person document; each claim located at the item that makes it."""
    spec: dict[str, Any] = doc.value["spec"]
    line, col = doc.where(())
    person = Person(str(spec["name"]), Source(doc.file, line, col))
    for name in FIELDS:
        for i, value in enumerate(spec.get(name) or []):
            iline, icol = doc.where(("spec", name, i))
            for key in sorted(claims_of({name: [value]})):
                person.claims.setdefault(key, Source(doc.file, iline, icol))
                person.written.setdefault(key, f"{name} {str(value)!r}")
    return person


def duplicates(persons: Iterable[Person]) -> list[Problem]:
    """A principal claimed by two persons, or two persons of one name: one problem each,
    at the second, naming both."""
    problems = []
    owner: dict[str, tuple[Person, Source]] = {}
    names: dict[str, Person] = {}
    for p in persons:
        first = names.setdefault(p.name, p)
        if first is not p:
            problems.append(
                Problem(
                    p.source.file,
                    p.source.line,
                    p.source.column,
                    f"Person {p.name!r} is also declared at {first.source}",
                    "duplicate-person",
                )
            )
        for key, where in p.claims.items():
            other = owner.setdefault(key, (p, where))
            if other[0] is p:
                continue
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    where.column,
                    f"principal {key} is claimed by Person {p.name!r} ({where}) and by "
                    f"Person {other[0].name!r} ({other[1]})",
                    "duplicate-principal",
                )
            )
    return problems


def index(
    persons: Iterable[Person], resolved: Mapping[str, list[str]] | None = None
) -> dict[str, str]:
    """Principal key -> the name of the person who claims it.

    `resolved` (`workflow.read_live`) holds what each claim by name resolves to now: the
    claim then stands for those ids only, never for a label a vendor shows (a group renamed
    "Finance" is not Finance). A name that resolves to two or more principals, or a
    resolved principal another person claims, is a `ManifestError` naming the Person's
    file:line; a name that resolves to nothing claims nothing (a warning)."""
    owners: dict[str, tuple[Person, Source]] = {}
    problems: list[Problem] = []
    for p in persons:
        for key, where in p.claims.items():
            keys = [key]
            if resolved is not None and key in resolved:
                keys = list(resolved[key])
                said = p.written.get(key, key)
                if len(keys) > 1:
                    problems.append(
                        Problem(
                            where.file,
                            where.line,
                            where.column,
                            f"Person {p.name!r}: {said} matches {len(keys)} principals "
                            f"({', '.join(keys)}); claim one by its id",
                            "ambiguous-claim",
                        )
                    )
                    continue
                if not keys:
                    notices.warn(
                        where.file,
                        where.line,
                        where.column,
                        f"Person {p.name!r}: {said} matches nothing the vendor has; it claims "
                        "nothing",
                        "unmatched-claim",
                    )
            for k in keys:
                other = owners.setdefault(k, (p, where))
                if other[0] is not p:
                    problems.append(
                        Problem(
                            where.file,
                            where.line,
                            where.column,
                            f"principal {k} is claimed by Person {p.name!r} ({where}) and by "
                            f"Person {other[0].name!r} ({other[1]})",
                            "duplicate-principal",
                        )
                    )
    if problems:
        raise ManifestError(problems)
    return {key: p.name for key, (p, _) in owners.items()}
