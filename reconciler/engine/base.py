"""`--base REF`: the workspace at a Git revision, what changed since, and who caused what.

The base revision is read with git itself (`ls-tree`, `cat-file`; never a checkout, never
a shell) into a private temporary directory, then loaded like any workspace, so the two
sides are compared as the same values. An object's identity is its address: a document
moved to another file with the same content is no change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from reconciler.core.errors import ManifestError, ReconcilerError
from reconciler.core.model import Action, Change, FieldChange, MemberChange, Plan, Resource
from reconciler.core.settings import Config
from reconciler.input.config import find_config
from reconciler.input.manifest import IGNORE_FILE, Workspace, load_workspace
from reconciler.input.policy import Policy
from reconciler.plugin.registry import KIND_TYPES, PROVIDERS

GIT_TIMEOUT = 60.0
FETCH_HINT = (
    "fetch it first (`git fetch --depth=50 origin {ref}`; in GitHub Actions, "
    "`actions/checkout` with `fetch-depth: 0`)"
)


class BaseRefError(ReconcilerError):
    """`--base`: the revision cannot be read (exit 1, one line saying how to fix it)."""


@dataclass
class Selection:
    """What a `--base` run reads: the head resources whose documents changed, the base
    resources whose documents were removed (read only to prune them), and the rest."""

    ref: str
    commit: str
    base: Workspace
    changed: list[Resource]
    """Head resources added or changed since the base."""
    removed: list[Resource]
    """Base resources no head document declares any more."""
    unchanged: set[str] = field(default_factory=set)
    """Addresses declared the same on both sides: not read."""
    base_by_address: dict[str, Resource] = field(default_factory=dict)


def _git(root: Path, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    # No pager, no prompt, no config from the repository's hooks or aliases run here.
    env.update(GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat", LC_ALL="C")
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            input=data,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise BaseRefError("--base needs git, and no `git` command was found") from None
    except subprocess.TimeoutExpired:
        raise BaseRefError(f"--base: git {args[0]} took over {GIT_TIMEOUT:.0f} s") from None


def toplevel(paths: list[str]) -> Path:
    """The Git checkout the first PATH lies in; `BaseRefError` when there is none."""
    first = Path(paths[0]) if paths else Path(".")
    where = first if first.is_dir() else first.parent
    done = _git(where.resolve(), "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise BaseRefError(
            f"--base: {paths[0] if paths else '.'} is not in a Git checkout; run from a clone "
            "of the repository (in GitHub Actions, `actions/checkout` with `fetch-depth: 0`), "
            "or plan without --base"
        )
    return Path(done.stdout.decode().strip()).resolve()


def resolve(root: Path, ref: str) -> str:
    """The commit `ref` names; `BaseRefError` saying how to fetch it when it is unknown."""
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n\r"):
        raise BaseRefError(f"--base: {ref!r} is not a Git revision")
    done = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if done.returncode == 0:
        return done.stdout.decode().strip()
    shallow = _git(root, "rev-parse", "--is-shallow-repository").stdout.decode().strip()
    shown = ref.encode("unicode_escape").decode("ascii")
    if shallow == "true":
        raise BaseRefError(
            f"--base: {shown} is not in this shallow clone; " + FETCH_HINT.format(ref=shown)
        )
    raise BaseRefError(
        f"--base: unknown revision {shown} in {root}; " + FETCH_HINT.format(ref=shown)
    )


def _rel(root: Path, path: Path) -> PurePosixPath:
    real = Path(os.path.realpath(os.path.abspath(path)))
    try:
        return PurePosixPath(real.relative_to(root).as_posix())
    except ValueError:
        raise BaseRefError(
            f"--base: {path} lies outside the Git checkout {root}; give paths inside it"
        ) from None


def _blobs(root: Path, commit: str, rel: PurePosixPath) -> list[tuple[str, str]]:
    """(blob id, repository path) of every regular file at `rel` in `commit`: links and
    submodules are left out (a link the base committed is never followed)."""
    spec = "." if str(rel) == "." else str(rel)
    done = _git(root, "ls-tree", "-r", "-z", "--full-tree", commit, "--", spec)
    if done.returncode != 0:
        raise BaseRefError(f"--base: git ls-tree failed: {done.stderr.decode(errors='replace')}")
    out = []
    for entry in done.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, oid = meta.decode().split()
        if kind == "blob" and mode in ("100644", "100755"):
            out.append((oid, name.decode("utf-8", "surrogateescape")))
    return out


def _cat(root: Path, oids: list[str]) -> list[bytes]:
    """The blobs' contents, in one `git cat-file --batch` (not one process a file)."""
    if not oids:
        return []
    done = _git(root, "cat-file", "--batch", data=("\n".join(oids) + "\n").encode())
    if done.returncode != 0:
        raise BaseRefError(f"--base: git cat-file failed: {done.stderr.decode(errors='replace')}")
    out, buf, pos = [], done.stdout, 0
    for _ in oids:
        end = buf.index(b"\n", pos)
        size = int(buf[pos:end].split()[2])
        out.append(buf[end + 1 : end + 1 + size])
        pos = end + 1 + size + 1
    return out


def _wanted(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or PurePosixPath(name).name == IGNORE_FILE


def _oid(path: Path) -> str | None:
    """The Git blob id of a file's content (what `git hash-object` prints)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def load_base(
    ref: str,
    paths: list[str],
    config_file: str | None,
    pol: Policy | None,
    head: Workspace | None = None,
) -> tuple[str, Workspace]:
    """The workspace at `ref`: the commit, and its config and documents loaded as the head's
    are (under the policy `pol` when the base meets it, else on its own settings).

    With `head` and the same config on both sides, a base file whose content some head
    file has (at any path) is not loaded again: its documents are that head file's. A
    pull request that edits three documents of 6,800 then loads three files, not all."""
    root = toplevel(paths)
    commit = resolve(root, ref)
    rels = [_rel(root, Path(p)) for p in paths]
    head_config = find_config(config_file, paths)
    config_rel = _rel(root, head_config) if head_config is not None else None
    tmp = Path(tempfile.mkdtemp(prefix="reconciler-base-"))
    try:
        wanted: dict[str, str] = {}
        for rel in [*rels, *([config_rel] if config_rel else [])]:
            for oid, name in _blobs(root, commit, rel):
                if _wanted(name) or (config_rel is not None and name == str(config_rel)):
                    wanted[name] = oid
        if head_config is None or config_rel is None:
            same_config = True  # no config on either side: the defaults
        else:
            same_config = wanted.get(str(config_rel)) == _oid(head_config)
        reused: list[Resource] = []
        if head is not None and same_config:
            by_oid: dict[str, list[str]] = {}
            for f in head.files:
                if (found := _oid(Path(f))) is not None:
                    by_oid.setdefault(found, []).append(f)
            kept_files: set[str] = set()
            for name, oid in list(wanted.items()):
                if oid in by_oid and name.endswith((".yaml", ".yml")) and name != str(config_rel):
                    kept_files.add(by_oid[oid][0])
                    del wanted[name]
            reused = [r for r in head.resources if r.source.file in kept_files]
        names = sorted(wanted)
        for name, data in zip(names, _cat(root, [wanted[n] for n in names]), strict=True):
            target = tmp.joinpath(*PurePosixPath(name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        base_paths = [str(tmp.joinpath(*r.parts)) for r in rels]
        for p in base_paths:
            # A PATH the base did not have yet: an empty workspace there.
            if not Path(p).exists() and not Path(p).suffix:
                Path(p).mkdir(parents=True, exist_ok=True)
        base_config = None
        if config_rel is not None and str(config_rel) in wanted:
            base_config = str(tmp.joinpath(*config_rel.parts))
        base_paths = [p for p in base_paths if Path(p).exists()] or [str(tmp)]
        try:
            try:
                ws = load_workspace(base_paths, base_config, pol)
            except ManifestError:
                # A base that the policy in force refuses is still what the PR starts from.
                ws = load_workspace(base_paths, base_config, None)
        except ManifestError as exc:
            first = exc.problems[0]
            where = str(first).replace(str(tmp) + os.sep, f"{ref}:")
            raise BaseRefError(
                f"--base: the workspace at {ref} does not validate ({where}"
                + (f"; and {len(exc.problems) - 1} more" if len(exc.problems) > 1 else "")
                + "); plan without --base"
            ) from None
        if reused:
            ws = dataclasses.replace(ws, resources=[*reused, *ws.resources])
        return commit, ws
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _key(r: Resource) -> Any:
    """What makes two documents of one object the same: everything but where they are."""
    return (
        r.desired,
        r.members_mode,
        r.scope,
        r.expires.when if r.expires else None,
        {k: e.when for k, e in sorted(r.member_expires.items())},
        dict(sorted(r.allows.items())),
    )


def _provider_key(config: Config, alias: str) -> Any:
    p = config.providers.get(alias)
    if p is None:
        return None
    return (p.type, p.base_url.rstrip("/"), p.credential_env, sorted(p.prune), p.options)


def select(
    ref: str, commit: str, base: Workspace, head: Workspace, resources: list[Resource]
) -> Selection:
    """What changed between the base workspace and `resources` (the head's, `--provider`
    applied): added or changed documents, removed ones, and the unchanged rest. Every
    object of a provider whose account or prune setting changed counts as changed."""
    by_base = {r.address: r for r in base.resources}
    repointed = {
        alias
        for alias in head.config.providers
        if _provider_key(head.config, alias) != _provider_key(base.config, alias)
    }
    changed, unchanged = [], set()
    for r in resources:
        old = by_base.get(r.address)
        if old is None or r.provider in repointed or _key(old) != _key(r):
            changed.append(r)
        else:
            unchanged.add(r.address)
    head_addresses = {r.address for r in head.resources}
    aliases = {r.provider for r in resources} | set(head.config.providers)
    removed = [
        r for r in base.resources if r.address not in head_addresses and r.provider in aliases
    ]
    return Selection(ref, commit, base, changed, removed, unchanged, by_base)


def _cause(pr: bool) -> str:
    return "pr" if pr else "drift"


def attribute(change: Change, sel: Selection, head: dict[str, Resource], config: Config) -> Change:
    """`change` with each field and member marked `pr` (the base and head documents differ
    there) or `drift` (they agree: live left them), and the change `pr` when any part is.
    A create, replace or delete is the PR's when the PR added, edited or removed the
    document; else it reverts drift (an object the base declares that live lacks)."""
    old = sel.base_by_address.get(change.address)
    new = head.get(change.address)
    doc_changed = old is None or new is None or _key(old) != _key(new)
    vtype = KIND_TYPES.get(change.kind)
    kinds = PROVIDERS[vtype].KINDS if vtype is not None and vtype in PROVIDERS else {}
    mf = kinds[change.kind].members_field if change.kind in kinds else None
    if change.action is Action.DELETE:
        whole = old is not None and new is None
    elif change.action is Action.UPDATE:
        whole = old is None or new is None
    else:
        whole = doc_changed
    change.fields = [
        FieldChange(f.field, f.before, f.after, _cause(whole or _differs(old, new, f.field)))
        for f in change.fields
    ]
    change.members = [
        MemberChange(
            m.action,
            m.key,
            m.before,
            m.after,
            m.expires,
            m.reason,
            _cause(whole or _member_differs(old, new, mf, m.key)),
        )
        for m in change.members
    ]
    parts = [f.cause for f in change.fields] + [m.cause for m in change.members]
    if change.action is Action.UPDATE and parts:
        change.cause = _cause("pr" in parts)
    else:
        change.cause = _cause(whole or "pr" in parts)
    return change


def _differs(old: Resource | None, new: Resource | None, name: str) -> bool:
    if old is None or new is None:
        return True
    return old.desired.get(name) != new.desired.get(name)


def _member_differs(old: Resource | None, new: Resource | None, mf: str | None, key: str) -> bool:
    if old is None or new is None or mf is None or old.members_mode != new.members_mode:
        return True
    was = (old.desired.get(mf) or {}).get(key)
    now = (new.desired.get(mf) or {}).get(key)
    was_exp, now_exp = old.member_expires.get(key), new.member_expires.get(key)
    return was != now or (was_exp and was_exp.when) != (now_exp and now_exp.when)


def headline(plan: Plan) -> str | None:
    """`Plan (changes since origin/main): ...`'s prefix and its unread count, or None."""
    p = plan.partial
    if p is None:
        return None
    return f"changes since {p.ref}"


__all__ = [
    "BaseRefError",
    "Selection",
    "attribute",
    "headline",
    "load_base",
    "resolve",
    "select",
    "toplevel",
]
