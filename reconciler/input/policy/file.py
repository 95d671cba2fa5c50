"""The policy file: finding it, loading it and checking it against its schema."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.core.errors import ManifestError, Problem
from reconciler.core.settings import Ignore, ProviderConfig
from reconciler.core.yamlload import Located, PathKey, load_one
from reconciler.governance import guards, ignores
from reconciler.input.config import _provider
from reconciler.input.schemas import SCHEMA_DIR, describe, schema
from reconciler.plugin.registry import cached, defaults

ENV = "RECONCILER_POLICY"
KIND = "Policy"
RULE = "policy"


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
    doc = load_one(path, "policy", KIND, RULE)
    if not isinstance(doc.value, dict):
        raise ManifestError([doc.problem((), "a policy must be a mapping (kind: Policy)", RULE)])
    problems = _validate(doc)
    if problems:
        raise ManifestError(problems)
    entries, problems = ignores.load(doc, dict(doc.value.get("settings") or {}))
    problems.extend(policy_providers(doc, file)[1])
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


def policy_providers(doc: Located, file: str) -> tuple[dict[str, ProviderConfig], list[Problem]]:
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
