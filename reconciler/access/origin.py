"""Where a report comes from: the workspace's paths and, in a Git checkout, its commit.

The commit is asked of `git rev-parse` as a reviewer would: no shell, no prompt, no
optional lock, a timeout. No git on PATH, a directory outside a checkout, a checkout
with no commit yet, a slow or failing git, or paths in checkouts at different commits:
the report names no commit, and says nothing else about it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

GIT_TIMEOUT = 5.0
"""Seconds `git rev-parse` may take before the commit is left out."""
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def commit_of(paths: Iterable[str]) -> str | None:
    """The commit checked out where every one of `paths` lies, or None."""
    git = shutil.which("git")
    if git is None:
        return None
    found = set()
    for path in paths:
        where = Path(path)
        folder = where if where.is_dir() else where.parent
        if not folder.is_dir():
            return None
        found.add(_head(git, folder))
    return found.pop() if len(found) == 1 else None


def _head(git: str, folder: Path) -> str | None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(
            [git, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("git rev-parse in %s: %s", folder, exc)
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and _SHA.fullmatch(sha) else None
