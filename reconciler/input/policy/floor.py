"""The floor: the settings in force, computed once from the policy and the workspace's config.

`reconciler.yaml` comes from the pull request under review, so the rules review relies on
come from a file the pull request cannot edit: the workspace may only tighten them, every
loosening an error at the config key's location naming the policy's value. The governance
block (what the settings in force make looser than the defaults) is built here too.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

from reconciler.core import clock
from reconciler.core.errors import ManifestError, Problem
from reconciler.core.model import Governance
from reconciler.core.settings import Config, GuardSettings, ProviderConfig, Safety
from reconciler.core.yamlload import Located, PathKey, load_file
from reconciler.governance import ignores
from reconciler.input.policy.file import RULE, Policy, policy_providers
from reconciler.plugin.registry import cached, defaults, providers

DEFAULT_MAX_NEW_MEMBERS = GuardSettings().max_new_members
FLOORS: dict[tuple[str, ...], float | None] = {
    ("safety", "max_delete_percent"): Safety().max_delete_percent,
    ("safety", "max_update_percent"): Safety().max_update_percent,
    ("safety", "min_existing"): Safety().min_existing,
    ("guards", "max_new_members"): DEFAULT_MAX_NEW_MEMBERS,
    ("max_ignore_days",): ignores.DEFAULT_MAX_DAYS,
    ("max_grant_days",): None,
}
"""Settings where a higher value is looser, with the built-in default (None: no limit).
A floor key the policy omits is the built-in default: a policy of `settings: {}` already
keeps every rule and threshold at its default."""


def _get(settings: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = settings
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _config_doc(config: Config) -> Located | None:
    """The workspace's config as located YAML (for the locations of its keys)."""
    if config.file is None:
        return None
    docs, _ = load_file(Path(config.file))
    return docs[0] if docs and isinstance(docs[0].value, dict) else None


@cached
def default_admin() -> frozenset[str]:
    """The admin-permission guard's default list, across vendors: what each kind reports
    as gained by a state holding every permission it knows (kinds with permissions hold
    them as `permissions`)."""
    out: set[str] = set()
    for cls in providers().values():
        for handler in cls.handlers.values():
            vocab = handler.admin_vocabulary()
            if vocab:
                out |= set(handler.admin_grants(None, {"permissions": sorted(vocab)}, None))
    return frozenset(out)


def _show(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, list | tuple | frozenset | set):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


def effective(config: Config, policy: Policy | None) -> tuple[Config, Governance]:
    """The settings in force (the policy merged with the workspace's config) and the
    governance block they give; `ManifestError` with one problem per loosening, at the
    config key, naming the policy's value and file. Without a policy, the config as is."""
    doc = _config_doc(config)
    mine_all = dict((doc.value.get("settings") or {}) if doc else {})
    floor_all = policy.settings if policy else {}
    problems: list[Problem] = []

    def loosens(path: PathKey, message: str) -> None:
        assert doc is not None and policy is not None
        problems.append(doc.problem(path, f"{message} ({policy.file})", RULE))

    values: dict[tuple[str, ...], Any] = {}
    for path, default in FLOORS.items():
        mine = _get(mine_all, path)
        floor = _get(floor_all, path) if policy else None
        floor = default if floor is None else floor
        if mine is None:
            values[path] = floor
            continue
        if policy and floor is not None and mine > floor:
            key = ".".join(path)
            loosens(
                ("settings", *path),
                f"settings.{key}: {_show(mine)} is looser than the policy's {_show(floor)}: "
                "the workspace may only lower it",
            )
        values[path] = mine

    kept_off = tuple(_get(floor_all, ("guards", "disabled")) or ())
    disabled = config.guards.disabled
    if policy:
        mine = _get(mine_all, ("guards", "disabled"))
        if mine is None:
            disabled = kept_off
        for i, rule in enumerate(mine or ()):
            if rule not in kept_off:
                loosens(
                    ("settings", "guards", "disabled", i),
                    f"settings.guards.disabled.{i}: disables {rule}, which the policy keeps "
                    f"on (policy: disabled: {_show(list(kept_off))})",
                )
    admin = config.guards.admin_permissions
    if policy:
        theirs = _get(floor_all, ("guards", "admin_permissions"))
        floor_admin = default_admin() if theirs is None else frozenset(theirs)
        mine = _get(mine_all, ("guards", "admin_permissions"))
        if mine is None:
            admin = None if theirs is None else frozenset(theirs)
        else:
            lacks = sorted(floor_admin - set(mine))
            if lacks:
                shown = "the built-in list" if theirs is None else _show(sorted(theirs))
                loosens(
                    ("settings", "guards", "admin_permissions"),
                    f"settings.guards.admin_permissions: lacks {', '.join(lacks)} of the "
                    f"policy's admin_permissions ({shown}): the workspace may add "
                    "permissions, never drop one",
                )

    entries = list(config.ignores)
    max_days = min(int(values[("max_ignore_days",)]), ignores.MAX_IGNORE_DAYS)
    if policy:
        limit = clock.now() + timedelta(days=max_days)
        for entry in entries:
            if entry.until > limit:
                s = entry.source
                message = (
                    f"{entry.name}: until {clock.show(entry.until)} is more than the policy's "
                    f"max_ignore_days ({max_days}) ahead ({policy.file})"
                )
                problems.append(Problem(s.file, s.line, s.column, message, RULE))
        entries = [*policy.ignores, *entries]

    provs = config.providers
    if policy and policy.providers:
        allowed, _ = policy_providers(policy.doc, policy.file)
        if doc is None:
            provs = allowed
        else:
            problems.extend(_subset(config, allowed, doc, policy))
    if problems:
        raise ManifestError(problems)

    parallelism = config.parallelism
    if policy and _get(mine_all, ("parallelism",)) is None and "parallelism" in floor_all:
        parallelism = int(floor_all["parallelism"])
    merged = dataclasses.replace(
        config,
        providers=provs,
        parallelism=parallelism,
        safety=Safety(
            max_delete_percent=values[("safety", "max_delete_percent")],
            max_update_percent=values[("safety", "max_update_percent")],
            min_existing=int(values[("safety", "min_existing")]),
        ),
        guards=GuardSettings(
            disabled=tuple(disabled),
            admin_permissions=admin,
            max_new_members=int(values[("guards", "max_new_members")]),
        ),
        max_grant_days=values[("max_grant_days",)],
        protect=tuple(dict.fromkeys([*(floor_all.get("protect") or ()), *config.protect])),
        ignores=entries,
    )
    return merged, _governance(merged, policy, doc, max_days)


def _subset(
    config: Config, allowed: dict[str, ProviderConfig], doc: Located, policy: Policy
) -> list[Problem]:
    """One problem per workspace provider the policy does not list exactly so."""
    problems = []
    for alias, p in config.providers.items():
        at = ("providers", alias)
        own = allowed.get(alias)
        if own is None:
            known = ", ".join(sorted(allowed))
            message = (
                f"provider {alias!r} is not among the policy's providers ({known}) "
                f"({policy.file}): a workspace may only use the accounts the policy lists"
            )
            problems.append(doc.problem(at, message, RULE, at_key=True))
            continue
        differs = []
        if p.type != own.type:
            differs.append(f"type {p.type!r}, the policy's is {own.type!r}")
        if p.base_url.rstrip("/").lower() != own.base_url.rstrip("/").lower():
            differs.append(f"base_url {p.base_url!r}, the policy's is {own.base_url!r}")
        if p.credential_env != own.credential_env:
            differs.append(
                f"credential variable {p.credential_env!r}, the policy's is {own.credential_env!r}"
            )
        if differs:
            message = (
                f"provider {alias!r} does not match the policy's ({policy.at(at)}): "
                + "; ".join(differs)
            )
            problems.append(doc.problem(at, message, RULE, at_key=True))
    return problems


def check_allow(doc: Located, allow: Any, policy: Policy | None) -> list[Problem]:
    """A document's `metadata.allow` naming a rule outside the policy's `allowable`."""
    if policy is None or not isinstance(allow, dict):
        return []
    allowable = policy.allowable
    return [
        doc.problem(
            ("metadata", "allow", rule),
            f"metadata.allow.{rule}: the policy ({policy.file}) does not let a document allow "
            f"{rule} (allowable: {_show(list(allowable))})",
            RULE,
            at_key=True,
        )
        for rule in allow
        if rule not in allowable
    ]


def _where(doc: Located | None, policy: Policy | None, path: tuple[str, ...]) -> str:
    """Where a setting in force was set: the workspace's config, else the policy."""
    for source in (doc, policy.doc if policy else None):
        if source is not None and _get(dict(source.value.get("settings") or {}), path) is not None:
            line, col = source.where(("settings", *path))
            return f"{source.file}:{line}:{col}"
    return ""


def _governance(
    config: Config, policy: Policy | None, doc: Located | None, max_days: int
) -> Governance:
    """Everything the settings in force make looser than the built-in defaults."""
    items: list[dict[str, Any]] = []

    def item(path: tuple[str, ...], value: Any, default: Any, **more: Any) -> None:
        items.append(
            {
                "setting": ".".join(path),
                "value": _show(value),
                "default": _show(default),
                "source": _where(doc, policy, path),
                **more,
            }
        )

    for rule in config.guards.disabled:
        item(("guards", "disabled"), rule, "every rule on")
    shown = {
        ("safety", "max_delete_percent"): config.safety.max_delete_percent,
        ("safety", "max_update_percent"): config.safety.max_update_percent,
        ("safety", "min_existing"): config.safety.min_existing,
        ("guards", "max_new_members"): config.guards.max_new_members,
        ("max_ignore_days",): max_days,
    }
    for path, value in shown.items():
        default = FLOORS[path]
        if default is not None and value > default:
            item(path, value, default)
    admin = config.guards.admin_permissions
    if admin is not None and admin != default_admin():
        lacks = sorted(default_admin() - admin)
        item(("guards", "admin_permissions"), sorted(admin), "the built-in list", lacks=lacks)
    entries = [
        {
            "address": i.address,
            "member": i.member,
            "fields": list(i.fields),
            "owner": i.owner,
            "until": clock.show(i.until),
            "reason": i.reason,
            "source": str(i.source),
        }
        for i in config.ignores
    ]
    known = defaults()
    provs = []
    for alias, p in sorted(config.providers.items()):
        d = known.get(p.type)
        home = d.base_url.rstrip("/") if d and d.base_url else None
        if p.base_url.rstrip("/") != home:
            provs.append(
                {
                    "alias": alias,
                    "type": p.type,
                    "base_url": p.base_url,
                    "default": home,
                    "source": ":".join(str(x) for x in p.source),
                }
            )
    return Governance(
        policy=policy.ref if policy else None, settings=items, ignores=entries, providers=provs
    )
