"""`--base REF`: the workspace at a Git revision (what changed since, and who caused what,
is engine/partial.py).

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
from pathlib import Path, PurePosixPath

from reconciler.core import notices
from reconciler.core.errors import ManifestError, ReconcilerError
from reconciler.core.model import (
    Resource,
)
from reconciler.input.config import find_config
from reconciler.input.manifest import IGNORE_FILE, Workspace, load_workspace
from reconciler.input.policy import Policy

GIT_TIMEOUT = 60.0
FETCH_HINT = (
    "fetch it first (`git fetch --depth=50 origin {ref}`; in GitHub Actions, "
    "`actions/checkout` with `fetch-depth: 0`)"
)


class BaseRefError(ReconcilerError):
    """`--base`: the revision cannot be read (exit 1, one line saying how to fix it)."""


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
        # The base's warnings are the past's: the head's own load warns for what it still
        # has, at its own paths (never under this temporary directory).
        try:
            with notices.collecting():
                try:
                    ws = load_workspace(base_paths, base_config, pol)
                except ManifestError:
                    # A base the policy in force refuses is still what the PR starts from.
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


__all__ = ["BaseRefError", "load_base", "resolve", "toplevel"]
