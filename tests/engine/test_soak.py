"""Fault soak (reduced size): an apply across all four vendors converges under 20% faults."""

from __future__ import annotations

import random

from reconciler.sandbox import Sandbox
from tests.perf.estate import make
from tests.support.harness import RunCli, Workspace


def test_apply_converges_under_faults_without_duplicates(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    estate = make("S", change_every=3)
    sandbox.state.update(estate.state)
    ws.config()  # vendor limits lifted (tests/harness.py): faults are the subject
    estate.write(ws.root)
    planned = cli("plan", str(ws.root), "--format", "json")
    # This much change trips safety and guards: plan fails its check, hence --force below.
    assert planned.code == 1 and "Apply would refuse" in planned.err, planned.err
    import json

    plan = json.loads(planned.out)
    touched = {c["address"] for c in plan["changes"]}
    assert len(touched) >= 40

    sandbox.fault_rate = 0.2
    sandbox.random = random.Random(7)
    codes = []
    for _ in range(4):
        res = cli("apply", str(ws.root), "--auto-approve", "--force", "--parallelism", "8")
        codes.append(res.code)
        if res.code == 0:
            break
    assert codes[-1] == 0, codes
    faults = [r for r in sandbox.log if r.fault]
    assert len(faults) > 10, "the soak must actually inject faults"

    sandbox.fault_rate = 0
    final = cli("plan", str(ws.root), "--detailed-exitcode")
    assert final.code == 0, final.out
    # No duplicates: names unique per scope in every vendor's state.
    roles = [r["name"] for r in sandbox.state["klipfolio"]["roles"]]
    assert len(roles) == len(set(roles))
    live = [
        (s["ownerAccountId"], s["name"])
        for s in sandbox.state["golem"]["shares"]
        if not s.get("deleted")
    ]
    assert len(live) == len(set(live))
    for folder in sandbox.state["salesforce"]["folders"]:
        who = [(s["shareType"], s["sharedWithId"]) for s in folder["shares"]]
        assert len(who) == len(set(who))
    # No object was written that the plan did not name.
    written_paths = {r.path for r in sandbox.writes()}
    assert all(_named(path, touched, sandbox) for path in written_paths), written_paths


def _named(path: str, touched: set[str], sandbox: Sandbox) -> bool:
    """A write path belongs to an object of the plan (by id, client id, folder or share id)."""
    tail = path.rstrip("/").split("/")
    ids = set(tail)
    for address in touched:
        parts = set(address.split("/"))
        if ids & parts:
            return True
    # Role and Golem share ids do not appear in addresses: map them back through the state.
    roles = {r["id"]: r["name"] for r in sandbox.state["klipfolio"]["roles"]}
    shares = {s["id"]: s["name"] for s in sandbox.state["golem"]["shares"]}
    for i in ids:
        name = roles.get(i) or shares.get(i)
        if name and any(a.endswith("/" + name) for a in touched):
            return True
    return path.endswith("/roles") or path.endswith("/permission-shares")
