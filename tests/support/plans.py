"""Saved plans for tests, built by the real renderer so only the intended part is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.core.model import Action, Change, Plan, ProviderInfo
from reconciler.plans import planfile

UNREACHABLE = "http://127.0.0.1:9/klipfolio/api/1"


def saved_plan(base_url: str = UNREACHABLE, credential_env: str = "KLIPFOLIO_API_KEY") -> Any:
    """The JSON document `plan --out` writes for one Klipfolio role to create."""
    change = Change(
        Action.CREATE,
        "KlipfolioRole",
        "klipfolio",
        ("", "Finance Analysts"),
        {"description": "Build finance dashboards", "permissions": ["klip.build"]},
        None,
        ["description", "permissions"],
    )
    provider = ProviderInfo("klipfolio", "klipfolio", base_url, credential_env)
    return planfile.to_dict(Plan([change], [provider], "sha256:" + "0" * 64))


def write(root: Path, doc: Any, reseal: bool = False) -> None:
    """Write `doc` as root/plan.json; `reseal` recomputes its checksum after an edit."""
    if reseal:
        doc["checksum"] = planfile._checksum(doc)
    (root / "plan.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
