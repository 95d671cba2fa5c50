"""Sandbox state files: YAML (or JSON) documents of kind SandboxState."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reconciler.core import safefile
from reconciler.core.errors import ManifestError, Problem
from reconciler.core.yamlload import load_file


def load_state(path: Path) -> dict[str, Any]:
    """The vendor state slices of a SandboxState file. Read as manifests are (yamlload:
    size, nesting and alias budgets), since a seed beside the manifests or a session file
    in `.reconciler/` may come with a pull request."""
    docs, problems = load_file(path)
    if problems:
        raise ManifestError(problems)
    if len(docs) != 1:
        raise ManifestError(
            [Problem(str(path), 1, 1, "sandbox state must be one document of kind SandboxState")]
        )
    raw = docs[0].value
    if not isinstance(raw, dict) or raw.get("kind") != "SandboxState":
        raise ManifestError(
            [Problem(str(path), 1, 1, "sandbox state must be a document of kind SandboxState")]
        )
    return {k: v for k, v in raw.items() if k not in ("apiVersion", "kind")}


def dump_state(state: dict[str, Any], path: Path, what: str = "sandbox state") -> None:
    """Write `state` to `path`, never through a symlink (safefile)."""
    doc = {"apiVersion": "reconciler/v1", "kind": "SandboxState", **state}
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    safefile.write_text(path, text, what=what)
