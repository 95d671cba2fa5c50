"""Fault soak: apply an estate across all four vendors while 20% of requests fail; print figures.

    python tests/perf/soak.py [--size S|M|L] [--fault-rate 0.2] [--seed N]

The sandbox answers the given share of requests with 429, 500, 502, 503 or a dropped
connection. Apply runs until it converges (at most 5 rounds); then, with faults off, the
script checks that live state equals the manifests, that nothing was duplicated and that
no object outside the plan was written. It prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reconciler.core.model import Outcome, Plan  # noqa: E402
from reconciler.core.runner import run  # noqa: E402
from reconciler.engine.apply import apply  # noqa: E402
from reconciler.engine.connect import close, connect  # noqa: E402
from reconciler.engine.diff import make_plan  # noqa: E402
from reconciler.input.manifest import load_workspace  # noqa: E402
from reconciler.sandbox import Sandbox  # noqa: E402
from tests.perf.bench import set_env, write_config  # noqa: E402
from tests.perf.estate import make  # noqa: E402


async def _round(root: Path) -> tuple[Plan, dict[str, int], list[Any], float]:
    ws = load_workspace([str(root)])
    providers = connect(ws.config, {r.provider for r in ws.resources})
    start = time.perf_counter()
    try:
        plan = await make_plan(ws.resources, providers, ws.digest)
        results = await apply(plan, providers, ws.config.parallelism) if not plan.empty else []
    finally:
        stats = {
            "calls": sum(p.http.stats.calls for p in providers.values()),
            "retries": sum(p.http.stats.retries for p in providers.values()),
        }
        await close(providers)
    return plan, stats, results, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["S", "M", "L"], default="M")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    set_env()
    est = make(args.size, change_every=3)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(est.state, retry_after=0.05) as sb:
        root = Path(tmp)
        est.write(root)
        write_config(root, sb.base_urls(), lifted=True)
        sb.fault_rate, sb.random = args.fault_rate, random.Random(args.seed)
        rounds: list[dict[str, Any]] = []
        first_plan: Plan | None = None
        for _ in range(5):
            plan, stats, results, wall = run(_round(root))
            first_plan = first_plan or plan
            outcome = {o.value: sum(1 for r in results if r.outcome is o) for o in Outcome}
            rounds.append(
                {"changes": len(plan.changes), **stats, "wall_s": round(wall, 2), **outcome}
            )
            if plan.empty or outcome["applied"] == len(results):
                break
        injected = sum(1 for r in sb.log if r.fault)
        sb.fault_rate = 0
        final, _, _, _ = run(_round(root))
        roles = [r["name"] for r in sb.state["klipfolio"]["roles"]]
        golem = [
            (s["ownerAccountId"], s["name"])
            for s in sb.state["golem"]["shares"]
            if not s.get("deleted")
        ]
        sf_dupes = sum(
            len(f["shares"]) - len({(s["shareType"], s["sharedWithId"]) for s in f["shares"]})
            for f in sb.state["salesforce"]["folders"]
        )
        assert first_plan is not None
        figures = {
            "size": args.size,
            "objects": est.objects,
            "objects_in_plan": len(first_plan.changes),
            "fault_rate": args.fault_rate,
            "requests": len(sb.log),
            "faults_injected": injected,
            "rounds": rounds,
            "converged": final.empty,
            "duplicates": (len(roles) - len(set(roles)))
            + (len(golem) - len(set(golem)))
            + sf_dupes,
            "wall_s_total": round(sum(r["wall_s"] for r in rounds), 2),
        }
    print(json.dumps(figures, indent=2))
    return 0 if figures["converged"] and not figures["duplicates"] else 1


if __name__ == "__main__":
    sys.exit(main())
