"""Find, load and validate manifests: every problem at once, each pointing at its YAML."""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.core import notices
from reconciler.core.errors import ManifestError, Problem
from reconciler.core.model import Governance, Resource, Source
from reconciler.core.settings import DEFAULT_SOURCE, Config
from reconciler.core.yamlload import Located, load_file, outside, roots
from reconciler.governance import expiry, guards
from reconciler.input import people, policy
from reconciler.input.config import CONFIG_NAMES, find_config, load_config
from reconciler.input.schemas import kinds, type_name, validate_against
from reconciler.plugin.registry import KIND_TYPES, PROVIDERS, cached, defaults

API_VERSION = "reconciler/v1"
SKIPPED_KINDS = ("Config", "SandboxState", policy.KIND)
SEED_NAME = "sandbox-state.yaml"


@dataclass
class Workspace:
    config: Config
    resources: list[Resource]
    files: list[str]
    digest: str
    persons: list[people.Person] = field(default_factory=list)
    """`Person` documents (never sent to an API): the access report's person column."""
    governance: Governance = field(default_factory=Governance)
    """The settings in force looser than the defaults, and the policy (policy.py)."""


def discover(paths: list[str], config_file: str | None) -> tuple[list[Path], list[Problem]]:
    """Every *.yaml / *.yml under the paths, hidden directories and the config left out."""
    found: list[Path] = []
    problems = []
    skip = Path(config_file).resolve() if config_file else None
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            ignored = _ignore_patterns(path)
            for candidate in sorted(path.rglob("*")):
                rel = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in rel) or _ignored(rel, ignored):
                    continue
                if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
                    found.append(candidate)
        else:
            problems.append(Problem(raw, 1, 1, "no such file or directory", "path"))
    # The sandbox's seed (read by --sandbox, never a manifest) is left out by name like the
    # config: examples/ links to the packaged one, outside the workspace.
    left_out = (*CONFIG_NAMES, SEED_NAME)
    top = paths[0] if paths else "."
    for other in (f for f in found if f.name in CONFIG_NAMES and f.resolve() != skip):
        # Only the top of the first PATH (or --config) holds the config: a nested one, the
        # pull request's included, never applies. Say so, or its settings silently do not.
        where = other.parent
        notices.warn(
            str(other),
            1,
            1,
            f"not the config in use: a config is read from --config, the top of the first "
            f"PATH ({top}) or the current directory; give {where} as PATH or pass "
            f"--config {other}",
        )
    kept = (f for f in found if f.name not in left_out and f.resolve() != skip)
    # A link the pull request committed may point at a runner's secrets: a file that
    # resolves outside every PATH given is never read, only named.
    workspace = roots(paths)
    files = []
    for file in dict.fromkeys(kept):
        linked = outside(file, workspace)
        if linked:
            problems.append(linked)
        else:
            files.append(file)
    return files, problems


IGNORE_FILE = ".reconcilerignore"


def _ignore_patterns(root: Path) -> list[str]:
    """Globs from `<root>/.reconcilerignore` (one a line, `#` comments): files under the
    workspace that are not manifests, such as a deployment's own Kubernetes YAML."""
    file = root / IGNORE_FILE
    if not file.is_file():
        return []
    lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    return [ln.strip().strip("/") for ln in lines if ln.strip() and not ln.startswith("#")]


def _ignored(rel: tuple[str, ...], patterns: list[str]) -> bool:
    """True when the relative path, or a directory above it, matches a pattern."""
    return any(
        fnmatch.fnmatchcase("/".join(rel[:n]), pattern)
        for pattern in patterns
        for n in range(1, len(rel) + 1)
    )


def load_policy(file: str, paths: list[str]) -> policy.Policy:
    """The policy file, refused when it lies inside a manifest PATH of the run (a pull
    request could edit it): under a PATH directory and not left out by its
    `.reconcilerignore` (a hidden directory is no shelter), or a PATH file itself."""
    target = Path(file).resolve()
    for raw in paths:
        root = Path(raw).resolve()
        inside = target == root
        if not inside and root.is_dir() and target.is_relative_to(root):
            inside = not _ignored(target.relative_to(root).parts, _ignore_patterns(root))
        if inside:
            message = (
                f"the policy file lies inside the manifest path {raw}, where a pull request "
                "could edit it: keep it outside the workspace (see docs/governance.md)"
            )
            raise ManifestError([Problem(file, 1, 1, message, policy.RULE)])
    return policy.load(file)


def load_workspace(
    paths: list[str], config_file: str | None = None, pol: policy.Policy | None = None
) -> Workspace:
    """Load config and manifests, the settings in force merged over the policy `pol`;
    raise ManifestError with every problem found."""
    config_path = find_config(config_file, paths)
    config, governance = policy.effective(load_config(config_path, defaults()), pol)
    files, problems = discover(paths, str(config_path) if config_path else None)
    resources: list[Resource] = []
    persons: list[people.Person] = []
    digest = hashlib.sha256(config.raw)
    for file in files:
        digest.update(str(file).encode() + b"\0")
        try:
            digest.update(file.read_bytes())
        except OSError:
            pass
        docs, file_problems = load_file(file)
        problems.extend(file_problems)
        for doc in docs:
            resource, doc_problems = _document(doc, config, pol)
            problems.extend(doc_problems)
            if isinstance(resource, people.Person):
                persons.append(resource)
            elif resource is not None:
                resources.append(resource)
    problems.extend(_duplicates(resources))
    problems.extend(people.duplicates(persons))
    if problems:
        raise ManifestError(problems)
    for r in resources:
        # Without a config file, a provider's problems (a missing credential) point at the
        # first manifest that needs it.
        pconf = config.providers[r.provider]
        if pconf.source[0] == DEFAULT_SOURCE:
            pconf.source = (r.source.file, r.source.line, r.source.column)
    return Workspace(
        config, resources, [str(f) for f in files], digest.hexdigest(), persons, governance
    )


def _document(
    doc: Located, config: Config, pol: policy.Policy | None = None
) -> tuple[Resource | people.Person | None, list[Problem]]:
    value = doc.value
    if not isinstance(value, dict):
        message = f"a manifest document must be a mapping, not a {type_name(value)}"
        return None, [doc.problem((), message, "schema")]
    kind = value.get("kind")
    if kind in SKIPPED_KINDS:
        return None, []
    if value.get("apiVersion") != API_VERSION:
        got = value.get("apiVersion")
        what = f"apiVersion {got!r} is not supported" if got else "missing apiVersion"
        return None, [doc.problem(("apiVersion",), f"{what}; use {API_VERSION}", "api-version")]
    if not isinstance(kind, str) or kind not in _kinds():
        if kind is None:
            message = "missing kind"
        else:
            close = difflib.get_close_matches(str(kind), _kinds(), n=1)
            message = f"unknown kind {kind!r}" + (f"; did you mean {close[0]!r}?" if close else "")
        known = ", ".join(_kinds())
        return None, [doc.problem(("kind",), f"{message} (known: {known})", "kind")]
    expiry.as_text(value)
    problems = validate_against(kind, doc)
    if problems:
        return None, problems
    if kind in people.CORE_KINDS:
        return people.read(doc), []
    vtype = KIND_TYPES.get(kind)
    if vtype is None:
        return None, [doc.problem(("kind",), f"kind {kind} has no provider yet", "kind")]
    alias = value.get("provider")
    if alias is None:
        candidates = [a for a, p in config.providers.items() if p.type == vtype]
        if len(candidates) != 1:
            if candidates:
                message = (
                    f"{kind} needs a `provider:` naming one of the {len(candidates)} providers "
                    f"of type {vtype} ({', '.join(sorted(candidates))})"
                )
            else:
                message = f"{kind} needs a provider of type {vtype}, and the config has none"
            return None, [doc.problem(("kind",), message, "provider")]
        alias = candidates[0]
    elif alias not in config.providers:
        known = ", ".join(sorted(config.providers)) or "none"
        close = difflib.get_close_matches(str(alias), list(config.providers), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return None, [
            doc.problem(
                ("provider",), f"unknown provider {alias!r}{hint} (configured: {known})", "provider"
            )
        ]
    pconf = config.providers[alias]
    if pconf.type != vtype:
        return None, [
            doc.problem(
                ("provider",),
                f"provider {alias!r} is of type {pconf.type}, but {kind} needs type {vtype}",
                "provider",
            )
        ]
    cls = PROVIDERS[vtype]
    if not pconf.base_url:
        env = cls.DEFAULTS.required_base_url_env
        return None, [
            doc.problem(
                ("provider",) if "provider" in value else ("kind",),
                f"provider {alias!r} has no base_url: set it in the config"
                + (f" (or {env} without one)" if env else ""),
                "provider",
            )
        ]
    spec: dict[str, Any] = value["spec"]
    problems = [
        doc.problem(("spec", *path), message, "spec")
        for path, message in cls.check(kind, spec, ("spec",))
    ]
    problems.extend(_member_duplicates(doc, cls, kind, spec))
    allow = (value.get("metadata") or {}).get("allow") or {}
    for path, message in guards.check_allow(allow, ("metadata", "allow")):
        problems.append(doc.problem(path, message, "allow"))
    problems.extend(policy.check_allow(doc, allow, pol))
    expires, member_expires, expiry_problems = expiry.read(
        doc, spec, cls.KINDS[kind], cls.member_key, config.max_grant_days
    )
    problems.extend(expiry_problems)
    if problems:
        return None, problems
    for path, message in cls.handlers[kind].advise(spec, ("spec",)):
        notices.add(doc.problem(("spec", *path), message, "spec"))
    line, col = doc.where(())
    resource = Resource(
        kind=kind,
        provider=alias,
        identity=cls.identity(kind, spec),
        desired=cls.normalise(kind, spec),
        source=Source(doc.file, line, col),
        members_mode=spec.get("members", "authoritative"),
        scope=cls.scope(kind, spec),
        expires=expires,
        member_expires=member_expires,
        allows=dict(allow),
    )
    return resource, []


@cached
def _kinds() -> list[str]:
    """Every kind there is a schema for."""
    return kinds()


def _member_duplicates(doc: Located, cls: Any, kind: str, spec: dict[str, Any]) -> list[Problem]:
    field = cls.KINDS[kind].members_field
    if field is None:
        return []
    seen: dict[str, int] = {}
    problems = []
    for i, member in enumerate(spec.get(field) or []):
        key = cls.member_key(kind, member)
        if key in seen:
            line, _ = doc.where(("spec", field, seen[key]))
            problems.append(
                doc.problem(
                    ("spec", field, i),
                    f"spec.{field}.{i}: member {key!r} is listed twice "
                    f"(first as spec.{field}.{seen[key]}, line {line})",
                    "duplicate-member",
                )
            )
        else:
            seen[key] = i
    return problems


def _duplicates(resources: list[Resource]) -> list[Problem]:
    first: dict[str, Resource] = {}
    problems = []
    for r in resources:
        other = first.get(r.address)
        if other is None:
            first[r.address] = r
            continue
        problems.append(
            Problem(
                r.source.file,
                r.source.line,
                r.source.column,
                f"{r.address} is also declared at {other.source}",
                "duplicate-identity",
            )
        )
    return problems
