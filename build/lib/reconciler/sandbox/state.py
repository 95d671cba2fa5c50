"""Sandbox state files: YAML (or JSON) documents of kind SandboxState."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import ManifestError, Problem


def load_state(path: Path) -> dict[str, Any]:
    """The vendor state slices of a SandboxState file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(
            [Problem(str(path), 1, 1, f"cannot read sandbox state: {exc}")]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ManifestError(
            [Problem(str(path), line, col, "sandbox state is not valid YAML")]
        ) from None
    if not isinstance(raw, dict) or raw.get("kind") != "SandboxState":
        raise ManifestError(
            [Problem(str(path), 1, 1, "sandbox state must be a document of kind SandboxState")]
        )
    return {k: v for k, v in raw.items() if k not in ("apiVersion", "kind")}


def dump_state(state: dict[str, Any], path: Path) -> None:
    doc = {"apiVersion": "reconciler/v1", "kind": "SandboxState", **state}
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
