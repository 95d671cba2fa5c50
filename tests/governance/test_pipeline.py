"""The governance pipeline: one ordered list of phases, each returning a new plan, shared
by plan, both forms of apply and drift."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from reconciler.core.model import Plan, Refusals
from reconciler.core.settings import Config, Safety
from reconciler.governance import pipeline
from reconciler.governance.phase import Context, Phase
from reconciler.sandbox import Sandbox
from tests.governance.test_protect import KEPT, PROTECT, PRUNE, PRUNED, ROLES
from tests.support.harness import Ran, Workspace

Cli = Callable[..., Ran]


@pytest.fixture
def roles(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    """Two undeclared roles under prune, one of them protected: protect and guards act."""
    sandbox.state["klipfolio"] = {
        "roles": [
            {"id": "1" * 32, "name": "Viewers", "description": "v", "permissions": ["klip.email"]},
            {"id": "2" * 32, "name": "Old", "description": "", "permissions": ["klip.edit"]},
            {"id": "3" * 32, "name": "Break Glass", "description": "", "permissions": []},
        ],
    }
    ws.write("roles.yaml", ROLES)
    ws.config(providers=PRUNE, settings=PROTECT)
    return sandbox


class Watch(Phase):
    """Wraps a phase: records each hook's call, checks that it returned a new plan and
    left the one it was given as it was."""

    def __init__(self, inner: Phase, seen: list[str]) -> None:
        self.inner = inner
        self.seen = seen
        self.name = inner.name  # type: ignore[misc]

    def plan(self, plan: Plan, ctx: Context) -> Plan:
        before = copy.deepcopy(plan)
        out = self.inner.plan(plan, ctx)
        assert out is not plan, f"{self.name} returned the plan it was given"
        assert plan == before, f"{self.name} edited the plan it was given"
        self.seen.append(f"plan:{self.name}")
        return out

    def refuse(self, plan: Plan, ctx: Context, so_far: Refusals) -> Refusals:
        before = copy.deepcopy(plan)
        out = self.inner.refuse(plan, ctx, so_far)
        assert plan == before, f"{self.name} edited the plan it checked"
        self.seen.append(f"refuse:{self.name}")
        return out


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    watched = tuple(Watch(p, calls) for p in pipeline.PHASES)
    monkeypatch.setattr(pipeline, "PHASES", watched)
    return calls


NAMES = ["expiry", "ignores", "protect", "guards", "safety"]
PLANNED = [f"plan:{n}" for n in NAMES]
REFUSED = [f"refuse:{n}" for n in NAMES]


def test_the_phases_are_listed_once_in_order() -> None:
    assert [p.name for p in pipeline.PHASES] == NAMES
    assert all(isinstance(p, Phase) for p in pipeline.PHASES)


def test_plan_runs_every_phase_in_order_each_returning_a_new_plan(
    roles: Sandbox, ws: Workspace, cli: Cli, seen: list[str]
) -> None:
    res = cli("plan", str(ws.root), "--format", "json")
    assert res.code == 0, res.out + res.err
    # Planning, then the policy check (what apply would refuse), both off the one list.
    assert seen == PLANNED + REFUSED
    doc = json.loads(res.out)
    assert [c["address"] for c in doc["changes"]] == [PRUNED]  # protect took KEPT out
    assert KEPT in doc["protected"]


def test_drift_and_both_forms_of_apply_run_the_same_list(
    roles: Sandbox, ws: Workspace, cli: Cli, seen: list[str]
) -> None:
    old = copy.deepcopy(roles.state["klipfolio"]["roles"])
    assert cli("drift", str(ws.root)).code == 2
    assert seen == PLANNED
    seen.clear()
    ran = cli("apply", str(ws.root), "--auto-approve")
    assert ran.code == 0, ran.out + ran.err
    # Planned once; refusals read before the question and again before the writes.
    assert seen == PLANNED + REFUSED + REFUSED
    assert [r["name"] for r in roles.state["klipfolio"]["roles"]] == ["Viewers", "Break Glass"]

    roles.state["klipfolio"]["roles"] = old
    out = ws.root.parent / "plan.json"
    assert cli("plan", str(ws.root), "--out", str(out)).code == 0
    seen.clear()
    # The saved plan: checked by every refuse hook; nothing is planned again.
    ran = cli("apply", str(out), "--config", str(ws.root / "reconciler.yaml"))
    assert ran.code == 0, ran.out + ran.err
    assert seen == REFUSED
    assert [r["name"] for r in roles.state["klipfolio"]["roles"]] == ["Viewers", "Break Glass"]


def test_refusals_fold_in_order_protection_before_the_guards() -> None:
    """A phase added to the list is run: the one place a sixth rule goes."""
    calls: list[str] = []

    class Sixth(Phase):
        name = "sixth"

        def refuse(self, plan: Plan, ctx: Context, so_far: Refusals) -> Refusals:
            calls.append(f"{len(so_far.safety)}")
            return so_far

    plan = Plan([], [], "d", {("kf", "KlipfolioRole"): 10})
    ctx = Context(Config({}, safety=Safety()))
    found = pipeline.refusals(plan, ctx, (*pipeline.PHASES, Sixth()))
    assert calls == ["0"] and found == Refusals({}, {}, (), 0)
    again = pipeline.govern(plan, ctx, (*pipeline.PHASES, Sixth()))
    assert again is not plan and again == plan
