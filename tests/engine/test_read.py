"""Reads apart from diff: the access report's live side comes from `read` alone, and
`--parallelism` travels as an argument, never written into the loaded config."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from reconciler.engine import diff as diffing
from reconciler.engine import workflow
from reconciler.governance import pipeline
from reconciler.sandbox import Sandbox
from tests.governance.test_pipeline import roles  # noqa: F401  (the fixture)
from tests.support.harness import Workspace


def _no(*args: Any, **kwargs: Any) -> NoReturn:
    raise AssertionError("the access report's read ran a diff or the governance pipeline")


def test_read_live_reads_without_diffing(
    roles: Sandbox,  # noqa: F811
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planned, _ = workflow.plan_workspace([str(ws.root)])
    for name in ("diff", "changes", "plan_of"):
        monkeypatch.setattr(diffing, name, _no)
    monkeypatch.setattr(workflow, "changes", _no)
    monkeypatch.setattr(workflow, "plan_of", _no)
    monkeypatch.setattr(pipeline, "govern", _no)
    roles.log.clear()
    _, resources, live = workflow.read_live([str(ws.root)])
    [key] = live
    assert key == ("klipfolio", "KlipfolioRole")
    # Prune is on for roles: the whole scope is read, the undeclared roles included.
    assert sorted(o.identity[-1] for o in live[key]) == ["Break Glass", "Old", "Viewers"]
    assert [r.address for r in resources] == ["klipfolio/KlipfolioRole/Viewers"]
    assert roles.log and all(e.method == "GET" for e in roles.log)
    assert planned.existing == {key: 3}


def test_parallelism_is_an_argument_not_written_into_the_config(
    roles: Sandbox,  # noqa: F811
    ws: Workspace,
) -> None:
    plan, config = workflow.plan_workspace([str(ws.root)], parallelism=3)
    assert config.parallelism == 10  # the config's own value, left as loaded
    assert [c.address for c in plan.changes] == ["klipfolio/KlipfolioRole/Old"]
    results = workflow.apply_plan(plan, config, parallelism=3)
    assert [r.outcome.value for r in results] == ["applied"]
    assert config.parallelism == 10
