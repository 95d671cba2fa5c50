"""Per-provider limits under the global parallelism: a slow vendor does not starve the others."""

from __future__ import annotations

import copy

import pytest

from reconciler.sandbox import Sandbox
from reconciler.vendors.golem.contract import CASE as GOLEM
from reconciler.vendors.salesforce.contract import CASE as SALESFORCE
from tests.support.harness import RunCli, Workspace


# Timing: about 3 s of waiting on the rate limit itself (run by `.ci/run`).
@pytest.mark.slow
@pytest.mark.vendor_limits
def test_rate_limited_vendor_keeps_its_rate_and_does_not_block_others(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    sandbox.state["klipfolio"] = {
        "roles": [
            {"id": f"{i:032x}", "name": f"Role {i:02d}", "description": "", "permissions": []}
            for i in range(12)
        ]
    }
    sandbox.state["golem"] = copy.deepcopy(GOLEM.state)
    sandbox.state["salesforce"] = copy.deepcopy(SALESFORCE.state)
    ws.config(
        providers="klipfolio.rate_limit_per_second: 4", settings="parallelism: 2", real_limits=True
    )
    roles = "\n---\n".join(
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        f"spec: {{name: Role {i:02d}, permissions: []}}"
        for i in range(12)
    )
    ws.write(
        "m.yaml",
        roles + "\n---\n" + GOLEM.manifests.strip() + "\n---\n" + SALESFORCE.manifests.strip(),
    )
    res = cli("plan", str(ws.root))
    assert res.code == 0, res.err
    kf = sorted(r.at for r in sandbox.log if r.vendor == "klipfolio")
    others = sorted(r.at for r in sandbox.log if r.vendor != "klipfolio")
    assert len(kf) == 13 and others
    # 13 calls at 4/s take about 3 s; the other vendors are done long before that.
    assert kf[-1] - kf[0] > 2.5
    assert others[-1] < kf[0] + 1.0
    # Never more than the configured rate in any one-second window.
    for i, t in enumerate(kf):
        assert sum(1 for u in kf[i:] if u - t < 1.0) <= 4
