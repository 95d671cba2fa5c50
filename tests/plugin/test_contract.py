"""The vendor contract suite: every provider against its sandbox, over loopback HTTP."""

from __future__ import annotations

import copy

import pytest

from reconciler.plugin.registry import vendors
from reconciler.sandbox import Hook, Sandbox
from reconciler.sandbox.contract import VendorCase
from tests.support.harness import RunCli, Workspace

CASES: list[VendorCase] = [v.contract_case() for v in vendors().values() if v.contract]


@pytest.fixture(params=CASES, ids=lambda c: c.vendor)
def case(request: pytest.FixtureRequest, sandbox: Sandbox, ws: Workspace) -> VendorCase:
    c: VendorCase = request.param
    sandbox.state[c.vendor] = copy.deepcopy(c.state)
    ws.config(providers=c.config)
    ws.write("manifests.yaml", c.manifests)
    return c


def test_every_vendor_has_a_case() -> None:
    from reconciler.plugin.registry import PROVIDERS

    assert sorted(c.vendor for c in CASES) == sorted(PROVIDERS)


@pytest.mark.parametrize("parallelism", ["1", "10", "50"])
def test_plan_apply_plan_is_empty_and_reapply_writes_nothing(
    case: VendorCase, sandbox: Sandbox, ws: Workspace, cli: RunCli, parallelism: str
) -> None:
    first = cli("plan", str(ws.root), "--detailed-exitcode", "--parallelism", parallelism)
    assert first.code == 2, first.out + first.err
    assert sandbox.writes() == []
    applied = cli("apply", str(ws.root), "--auto-approve", "--parallelism", parallelism)
    assert applied.code == 0, applied.out + applied.err
    after = cli("plan", str(ws.root), "--detailed-exitcode")
    assert after.code == 0, after.out
    assert "No changes. Live state matches the manifests." in after.out
    n = len(sandbox.log)
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert [r for r in sandbox.log[n:] if r.is_write] == []


def test_writes_match_the_contract(
    case: VendorCase, sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    assert sorted((r.method, r.path) for r in sandbox.writes()) == sorted(case.expected_writes)
    assert all(200 <= r.status < 300 for r in sandbox.writes())


def test_change_between_plan_and_write_is_a_conflict_that_survives(
    case: VendorCase, sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    cli("plan", str(ws.root))
    reads_of_a_plan = len(sandbox.log)
    # Land the out-of-band change right after apply's own plan has read everything.
    sandbox.hooks.append(Hook(case.meddle, after=len(sandbox.log) + reads_of_a_plan))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1, res.out + res.err
    assert f"conflict  {case.meddled}" in res.out
    assert case.survived(sandbox)
    others = [line for line in res.out.splitlines() if line.strip().startswith("applied")]
    assert others, "the other objects still apply"
