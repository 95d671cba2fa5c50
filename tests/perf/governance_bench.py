"""Benchmark: offline planning of 10,000 objects with the guards on and off (issue 13).

    python tests/perf/governance_bench.py [--objects N] [--rounds R]

Like bench.py's "CPU time for 10,000 objects with no network", with no network: the
manifests (five kinds, four vendors, some members with `expires:`) are loaded once and
the live side is built as model values beforehand; what is timed (CPU, `process_time`) is
the offline planning of issue 13: `engine.diff.diff` then `expiry.revise` for every object,
then `ignores.filter_plan`, `protect.keep` and `guards.attach`, as the governance pipeline
runs them. The same planning runs with every guard rule on (the default settings) and
with every rule off (`settings.guards.disabled` listing them all), alternating for
`--rounds` rounds (a full collection before each); the figure is the best round of each
and their ratio, the median too (target: on within 10% of off). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reconciler.core import clock  # noqa: E402
from reconciler.core.model import Change, LiveObject, Plan, Resource, Source  # noqa: E402
from reconciler.engine.diff import diff  # noqa: E402
from reconciler.governance import expiry, guards, ignores, protect  # noqa: E402
from reconciler.input.config import GuardSettings  # noqa: E402
from reconciler.input.manifest import load_workspace  # noqa: E402
from reconciler.plugin.registry import kind_spec  # noqa: E402

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
"""The clock the planning runs at: some `expires:` below are past, most are not."""

KINDS = 5


def _hex(i: int, width: int = 32) -> str:
    return f"{i:0{width}x}"


def _guid(i: int) -> str:
    h = _hex(i)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:]}"


def _sf_id(prefix: str, i: int) -> str:
    return f"{prefix}5e{i:010d}"


def manifests(n: int) -> str:
    """`n` documents, a fifth of each kind; every tenth object of a kind is a change some
    guard rule trips on (a few BitSight folders gain 29 users: mass-grant), and some
    members and grants carry an expiry (a few past)."""
    docs = []
    per = n // KINDS
    for i in range(per):
        trip = i % 10 == 0
        when = "2026-11-01" if i % 50 == 0 else "2027-03-31"
        perms = ["klip.edit", "tab.share", "dashboard.klip"] + (["user.manage"] if trip else [])
        docs.append(
            "kind: KlipfolioRole\n"
            f"spec: {{name: Role {i:05d}, description: d{i}, permissions: {perms}"
            + (f", expires: '{when}'" if i % 7 == 0 else "")
            + "}"
        )
        groups = [
            f"{{group_id: '{_hex(2 * i + 1)}', can_manage: {str(not trip).lower()}}}",
            f"{{group_id: '{_hex(2 * i + 2)}', can_manage: false, expires: '{when}'}}",
        ]
        docs.append(
            "kind: KlipfolioClientShareRights\n"
            f"spec: {{client_id: '{_hex(10**9 + i)}', groups: [{', '.join(groups)}]}}"
        )
        users = [
            f"{{email: u{i}.{k}@acme.com, can_edit_folder_contents: true,"
            f" can_edit_folder_properties: {str(k == 0).lower()}"
            + (f", expires: '{when}'" if k == 2 else "")
            + "}"
            for k in range(30 if i % 100 == 50 else 4)  # now and then a mass grant
        ]
        docs.append(
            "kind: BitsightFolderSharing\n"
            f"spec: {{folder_guid: {_guid(i)}, is_shared: true,"
            f" shared_with_all_users: {str(trip).lower()},"
            f" shared_with_users: [{', '.join(users)}]}}"
        )
        shares = [
            f"{{share_type: group, shared_with_id: {_sf_id('00G', i)}, access_type: manage}}",
            f"{{share_type: user, shared_with_id: {_sf_id('005', i)}, access_type: view,"
            f" expires: '{when}'}}",
        ]
        if trip:
            shares.append("{share_type: organization, access_type: view}")
        docs.append(
            "kind: SalesforceFolderShares\n"
            f"spec: {{folder_id: {_sf_id('00l', i)}, shares: [{', '.join(shares)}]}}"
        )
        grants = [f"application(p@acme.com/app{i}) @ a{i}@acme.com : view :"]
        docs.append(
            "kind: GolemPermissionShare\n"
            f"spec: {{owner_account_id: {_guid(10**9)}, name: share-{i:05d},"
            f" target_account_id: {_guid(10**9 + 1)}, data: {{lowerPositive: {grants}}}"
            + (f", expires: '{when}'" if i % 7 == 0 else "")
            + "}"
        )
    return "\n---\n".join("apiVersion: reconciler/v1\n" + d for d in docs) + "\n"


def live_of(r: Resource, i: int) -> LiveObject | None:
    """The live side of a declared object, as a read would give it: every object differs
    (a member removed, raised or added, a field changed); one in twenty does not exist."""
    if i % 20 == 19:
        return None
    state = copy.deepcopy(r.desired)
    mf = kind_spec(r.kind).members_field
    if r.kind == "KlipfolioRole":
        state["permissions"] = [p for p in state["permissions"] if p != "user.manage"][:2]
    elif r.kind == "GolemPermissionShare":
        state["data"]["lowerPositive"] = []
    elif mf is not None:
        members: dict[str, Any] = state[mf]
        first = next(iter(members))
        if r.kind == "KlipfolioClientShareRights":
            members[first] = {"can_manage": True}  # the manager the desired side lowers
            members[_hex(3 * 10**9 + i)] = {"can_manage": False}  # revoked: authoritative
        elif r.kind == "BitsightFolderSharing":
            state["shared_with_all_users"] = False
            for key in list(members)[1 if len(members) > 25 else -1 :]:
                members.pop(key)  # added (back) by the plan
            members[f"gone{i}@acme.com"] = {
                "email": f"gone{i}@acme.com",
                "can_edit_folder_contents": True,
                "can_edit_folder_properties": False,
            }
        elif r.kind == "SalesforceFolderShares":
            members.pop("organization", None)
            members[first] = {"access_type": "view"}
    return LiveObject(r.identity, state, {"id": str(i)}, scope=r.scope)


def ignore_entries(objects: int) -> list[ignores.Ignore]:
    """Eleven entries, as a workspace might carry: ten members of folders, one field."""
    per = objects // KINDS
    src = Source("reconciler.yaml", 1, 1)
    until = datetime(2027, 2, 15, tzinfo=UTC)
    return [
        ignores.Ignore(
            f"bitsight/BitsightFolderSharing/{_guid(i)[:8]}*",
            "vendor ticket",
            "secops@acme.com",
            until,
            src,
            member=f"gone{i}@acme.com",
        )
        for i in range(1, per, max(1, per // 10))
    ] + [
        ignores.Ignore(
            "klipfolio/KlipfolioRole/Role 0001?",
            "clean-up in progress",
            "it@acme.com",
            until,
            src,
            fields=("description",),
        )
    ]


PROTECT = ("golem/GolemPermissionShare/*/break-glass-*", "klipfolio/KlipfolioRole/Admin*")


def plan_offline(
    resources: list[Resource],
    live: list[LiveObject | None],
    entries: list[ignores.Ignore],
    settings: GuardSettings,
) -> Plan:
    """What workflow.plan_workspace does after the reads, for pre-built live values."""
    changes: list[Change] = []
    in_sync = 0
    for r, obj in zip(resources, live, strict=True):
        spec = kind_spec(r.kind)
        change = expiry.revise(spec, r, obj, diff(spec, r, obj))
        if change is None:
            in_sync += 1
        else:
            changes.append(change)
    plan = Plan(changes, [], "bench", {}, in_sync)
    plan = ignores.filter_plan(plan, entries, resources, {"klipfolio", "bitsight", "golem"})
    plan = protect.keep(plan, resources, PROTECT)
    return guards.attach(plan, resources, settings)


def run(objects: int, rounds: int) -> dict[str, Any]:
    # Never contacted: the manifests only need a Salesforce provider to load.
    os.environ.setdefault("RECONCILER_SALESFORCE_BASE_URL", "http://127.0.0.1:9")
    with tempfile.TemporaryDirectory() as tmp, clock.frozen(NOW):
        root = Path(tmp)
        (root / "objects.yaml").write_text(manifests(objects))
        resources = load_workspace([str(root)]).resources
        live = [live_of(r, i // KINDS) for i, r in enumerate(resources)]
        entries = ignore_entries(objects)
        on, off = GuardSettings(), GuardSettings(disabled=guards.RULES)
        times: dict[str, list[float]] = {"on": [], "off": []}
        plans: dict[str, Plan] = {}
        plan_offline(resources, live, entries, on)  # warm up caches and imports
        for n in range(rounds):
            order = (("on", on), ("off", off)) if n % 2 == 0 else (("off", off), ("on", on))
            for name, settings in order:
                gc.collect()  # each run starts from the same heap: no other run's garbage
                start = time.process_time()
                plans[name] = plan_offline(resources, live, entries, settings)
                times[name].append(time.process_time() - start)
    best_on, best_off = min(times["on"]), min(times["off"])
    findings = [f for c in plans["on"].changes for f in c.guards]
    return {
        "objects": len(resources),
        "changes": len(plans["on"].changes),
        "ignored": len(plans["on"].ignored),
        "expired_removals": sum(
            1 for c in plans["on"].changes for m in c.members if m.reason == expiry.EXPIRED
        )
        + sum(1 for c in plans["on"].changes if c.reason == expiry.EXPIRED),
        "guard_findings_on": len(findings),
        "guard_findings_off": sum(len(c.guards) for c in plans["off"].changes),
        "findings_by_rule": {r: sum(f.rule == r for f in findings) for r in guards.RULES},
        "rounds": rounds,
        "cpu_s_guards_on_best": round(best_on, 3),
        "cpu_s_guards_off_best": round(best_off, 3),
        "cpu_s_guards_on_median": round(statistics.median(times["on"]), 3),
        "cpu_s_guards_off_median": round(statistics.median(times["off"]), 3),
        "ratio_on_to_off_best": round(best_on / best_off, 3),
        "ratio_on_to_off_median": round(
            statistics.median(times["on"]) / statistics.median(times["off"]), 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(
        json.dumps({"offline_planning_guards_on_vs_off": run(args.objects, args.rounds)}, indent=2)
    )


if __name__ == "__main__":
    main()
