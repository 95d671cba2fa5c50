"""The operator's policy (`--policy FILE`, RECONCILER_POLICY): a floor of settings the
workspace may only tighten, the only accounts it may use, and the governance block.

`reconciler.yaml` comes from the pull request under review, so the rules review relies on
come from a file the pull request cannot edit. `effective` is the one place the settings
in force are computed: the workspace's config merged over the policy, every loosening an
error at the config key's location naming the policy's value; `governance` and `risks`
then say what a reviewer must see first.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.core import clock
from reconciler.core.errors import ManifestError, Problem
from reconciler.core.model import Action, Change, Governance, Plan
from reconciler.core.settings import Config, GuardSettings, Ignore, ProviderConfig, Safety
from reconciler.core.yamlload import Located, PathKey, load_file
from reconciler.governance import guards, ignores
from reconciler.input.config import _provider
from reconciler.input.schemas import SCHEMA_DIR, describe, schema
from reconciler.plugin.registry import cached, defaults, kind_types, providers

ENV = "RECONCILER_POLICY"
KIND = "Policy"
RULE = "policy"

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


@dataclass(frozen=True)
class Policy:
    """One loaded, schema-valid policy file."""

    file: str
    sha256: str
    doc: Located
    ignores: tuple[Ignore, ...] = ()
    """The policy's own `settings.ignore` entries (the operator's, applied as well)."""

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.doc.value.get("settings") or {})

    @property
    def providers(self) -> dict[str, Any]:
        return dict(self.doc.value.get("providers") or {})

    @property
    def allowable(self) -> tuple[str, ...]:
        """The guard rules a document's `metadata.allow` may name (default: every rule)."""
        listed = (self.settings.get("guards") or {}).get("allowable")
        return guards.RULES if listed is None else tuple(listed)

    @property
    def hosts(self) -> frozenset[str]:
        """The hosts of the policy's providers: trusted as if in RECONCILER_ALLOW_HOSTS."""
        out = set()
        for raw in self.providers.values():
            host = _host(str(raw.get("base_url") or ""))
            if host:
                out.add(host)
        return frozenset(out)

    def at(self, path: PathKey) -> str:
        line, col = self.doc.where(path)
        return f"{self.file}:{line}:{col}"

    @property
    def ref(self) -> dict[str, str]:
        return {"path": self.file, "sha256": self.sha256}


def locate(explicit: str | None) -> str | None:
    """The policy file: `--policy`, else RECONCILER_POLICY, else None (the flag wins)."""
    return explicit or os.environ.get(ENV) or None


def load(file: str) -> Policy:
    """Read and check a policy file; `ManifestError` naming the file (and line)."""
    path = Path(file)
    if not path.is_file():
        message = f"policy file not found (given by --policy or {ENV})"
        raise ManifestError([Problem(file, 1, 1, message, RULE)])
    docs, problems = load_file(path)
    if problems:
        raise ManifestError(problems)
    if len(docs) != 1:
        line, col = docs[1].where(()) if docs else (1, 1)
        what = f"holds {len(docs)} documents" if docs else "is empty"
        message = f"policy file {what}; it must hold exactly one (kind: {KIND})"
        raise ManifestError([Problem(file, line, col, message, RULE)])
    doc = docs[0]
    if not isinstance(doc.value, dict):
        raise ManifestError([doc.problem((), "a policy must be a mapping (kind: Policy)", RULE)])
    problems = _validate(doc)
    if problems:
        raise ManifestError(problems)
    entries, problems = ignores.load(doc, dict(doc.value.get("settings") or {}))
    problems.extend(_policy_providers(doc, file)[1])
    if problems:
        raise ManifestError(problems)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Policy(file, digest, doc, tuple(entries))


@cached
def _validator() -> Any:
    """The policy schema, composed: its settings and providers are the config schema's (as
    validation uses it), and `guards` also takes `allowable`."""
    from jsonschema import Draft202012Validator

    raw = json.loads((SCHEMA_DIR / "policy.schema.json").read_text())
    config = schema("config")
    settings = copy.deepcopy(config["properties"]["settings"])
    allowable = copy.deepcopy(raw["$defs"]["guards"]["properties"]["allowable"])
    allowable["items"] = {"enum": list(guards.RULES)}
    settings["properties"]["guards"]["properties"]["allowable"] = allowable
    settings["description"] = raw["properties"]["settings"]["description"]
    provs = copy.deepcopy(config["properties"]["providers"])
    provs["description"] = raw["properties"]["providers"]["description"]
    raw["properties"].update(settings=settings, providers=provs)
    raw["$defs"] = copy.deepcopy(config["$defs"])
    return Draft202012Validator(raw)


def _validate(doc: Located) -> list[Problem]:
    return [
        doc.problem(tuple(err.absolute_path), describe(err), RULE)
        for err in _validator().iter_errors(doc.value)
    ]


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _policy_providers(doc: Located, file: str) -> tuple[dict[str, ProviderConfig], list[Problem]]:
    """The policy's providers as the config would build them, and what is wrong with them."""
    known = defaults()
    out: dict[str, ProviderConfig] = {}
    problems = []
    for alias, raw in (doc.value.get("providers") or {}).items():
        vtype = raw.get("type", alias)
        at = ("providers", alias)
        if vtype not in known:
            types = ", ".join(sorted(known))
            problems.append(doc.problem(at, f"provider {alias!r} needs a `type` ({types})", RULE))
            continue
        d = known[vtype]
        base = raw.get("base_url") or d.base_url
        if not base and d.required_base_url_env:
            base = os.environ.get(d.required_base_url_env, "")
        if not base:
            message = f"provider {alias!r} needs base_url: a {vtype} provider has no default"
            problems.append(doc.problem(at, message, RULE))
            continue
        p = _provider(alias, raw, d, base)
        line, col = doc.where(at)
        p.source = (file, line, col)
        out[alias] = p
    return out, problems


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
        allowed, _ = _policy_providers(policy.doc, policy.file)
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


def allows(plan: Plan) -> list[dict[str, Any]]:
    """Each `metadata.allow` on a changed object: address, rule, reason, source."""
    return [
        {"address": c.address, "rule": rule, "reason": reason, "source": str(c.source or "")}
        for c in plan.changes
        for rule, reason in sorted(c.allows.items())
    ]


def _handler(kind: str) -> Any:
    vtype = kind_types().get(kind)
    return providers()[vtype].handlers.get(kind) if vtype else None


def risks(plan: Plan, settings: GuardSettings) -> list[dict[str, Any]]:
    """Each change that trips a guard, grants a privilege, opens an object to everyone or
    removes a manager, whatever the settings in force turn off: the rules run with none
    disabled, the admin list at least the built-in one and max_new_members at most its
    default. `status` says whether apply refuses it (`refused`), a document allows it
    (`allowed`), or the settings in force let it through (`not refused: ...`)."""
    watch = GuardSettings(
        admin_permissions=default_admin() | (settings.admin_permissions or frozenset()),
        max_new_members=min(settings.max_new_members, DEFAULT_MAX_NEW_MEMBERS),
    )
    out: list[dict[str, Any]] = []
    for change in plan.changes:
        enforced = {f.rule for f in change.guards}
        tripped = []
        for f in guards.findings(change, watch):
            if f.allowed:
                status = "allowed"
            elif f.rule in enforced:
                status = "refused"
            elif f.rule in settings.disabled:
                status = "not refused: the rule is disabled"
            else:
                status = "not refused: the settings in force are looser"
            tripped.append(f.rule)
            entry = {"address": change.address, "rule": f.rule, "message": f.message}
            entry["status"] = status
            if f.reason:
                entry["reason"] = f.reason
            out.append(entry)
        out.extend(_manager_changes(change, guards.LAST_MANAGER in tripped))
    return out


def _manager_changes(change: Change, last_reported: bool) -> list[dict[str, Any]]:
    """A manager added (a privileged grant) or removed, beside what the guards say."""
    handler = _handler(change.kind)
    if handler is None or change.live is None or change.action is Action.DELETE:
        return []
    try:
        had = handler.managers(change.live.state) or set()
        has = handler.managers(change.desired or {}) or set()
    except (TypeError, ValueError, AttributeError, KeyError):
        return []
    out = []
    removed, added = sorted(had - has), sorted(has - had)
    what = handler.MANAGER
    if removed and not last_reported:
        message = f"removes {what}{'s' * (len(removed) != 1)} {', '.join(removed)}"
        out.append(_info(change, "manager-removed", message))
    if added:
        message = f"adds {what}{'s' * (len(added) != 1)} {', '.join(added)}"
        out.append(_info(change, "manager-added", message))
    return out


def _info(change: Change, rule: str, message: str) -> dict[str, Any]:
    return {"address": change.address, "rule": rule, "message": message, "status": "for review"}
