"""Benchmark: plan and apply at the latency bound; prints one JSON object of figures.

    python tests/perf/bench.py [--size S|M|L]

The sandbox runs in its own process (so its CPU is not ours) with 20 ms latency per request.
Runs: (1) plan with the vendors' limits lifted, against the latency bound; (2) apply of 20%
of the objects, likewise; (3) plan with the vendors' default limits, against that run's own
bound (a rate-limited provider's calls / its rate); (4) the sandbox's own overhead at zero
latency; (5) CPU time to load, validate, diff and render 10,000 objects with no network;
(6) apply against a rate-limited provider: the highest rate seen in any 1 s window and the
average, against the configured rate.

    python tests/perf/bench.py --startup [--runs N]

prints only the start-up figures: the median wall time (ms; and CPU ms, which depends less
on the machine's load) of `reconciler --help` and of `reconciler validate examples/`, each run
N times in a fresh process (target: under 300 ms wall).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reconciler.core.model import Action, Plan, Resource  # noqa: E402
from reconciler.core.runner import run  # noqa: E402
from reconciler.engine.apply import apply  # noqa: E402
from reconciler.engine.connect import close, connect  # noqa: E402
from reconciler.engine.diff import diff, make_plan  # noqa: E402
from reconciler.input.manifest import load_workspace  # noqa: E402
from reconciler.render import text  # noqa: E402
from reconciler.sandbox import Sandbox  # noqa: E402
from reconciler.sandbox.state import dump_state  # noqa: E402
from reconciler.vendors.klipfolio.provider import KlipfolioProvider  # noqa: E402
from tests.perf.estate import make  # noqa: E402

LATENCY_MS = 20
PARALLELISM = 10
ENV = {
    "klipfolio": "KLIPFOLIO_API_KEY",
    "bitsight": "BITSIGHT_API_TOKEN",
    "golem": "GOLEM_TOKEN",
    "salesforce": "SALESFORCE_ACCESS_TOKEN",
}


class Server:
    """`reconciler sandbox serve` in a child process."""

    def __init__(self, state: dict[str, Any], latency_ms: float, workdir: Path) -> None:
        path = workdir / "state.yaml"
        dump_state(state, path)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reconciler",
                "sandbox",
                "serve",
                "--state",
                str(path),
                "--latency-ms",
                str(latency_ms),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.urls: dict[str, str] = {}
        assert self.proc.stdout is not None
        while len(self.urls) < 4:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("sandbox did not start")
            vendor, url = line.split()
            self.urls[vendor] = url

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def write_config(root: Path, urls: dict[str, str], lifted: bool) -> None:
    lines = ["apiVersion: reconciler/v1", "kind: Config", "providers:"]
    for vendor, url in urls.items():
        lines += [f"  {vendor}:", f"    type: {vendor}", f"    base_url: {url}"]
        if lifted:
            lines += ["    rate_limit_per_second: 0", f"    max_concurrency: {PARALLELISM}"]
    lines += [
        "settings:",
        f"  parallelism: {PARALLELISM}",
        "  safety: {max_delete_percent: 100, max_update_percent: 100}",
    ]
    (root / "reconciler.yaml").write_text("\n".join(lines) + "\n")


def set_env() -> None:
    import os

    for vendor, env in ENV.items():
        os.environ[env] = f"sandbox-{vendor}-credential"
    # The configs written here point at a sandbox on loopback, without --sandbox.
    os.environ["RECONCILER_ALLOW_LOOPBACK"] = "1"


def minimal_plan_calls(est_state: dict[str, Any], ws_resources: list[Resource]) -> dict[str, int]:
    """The calls the contracts require to plan: list-then-detail only where the API needs it."""
    kf = est_state["klipfolio"]
    declared_roles = {r.identity[1] for r in ws_resources if r.kind == "KlipfolioRole"}
    live_declared = sum(1 for r in kf["roles"] if r["name"] in declared_roles)
    owners = {r.scope for r in ws_resources if r.kind == "GolemPermissionShare"}
    return {
        "klipfolio": 1
        + live_declared
        + sum(1 for r in ws_resources if r.kind == "KlipfolioClientShareRights")
        + (
            1
            if any(
                k.startswith("name:")
                for r in ws_resources
                if r.kind == "KlipfolioClientShareRights"
                for k in r.desired["groups"]
            )
            else 0
        ),
        "bitsight": 1,
        "golem": len(owners),
        "salesforce": sum(1 for r in ws_resources if r.kind == "SalesforceFolderShares"),
    }


def minimal_apply_calls(plan: Plan) -> int:
    """Per change: the pre-write re-read (not for revisioned Golem) plus the writes it needs."""
    total = 0
    for c in plan.changes:
        if c.kind == "GolemPermissionShare":
            total += 2 if c.action is Action.REPLACE else 1
            continue
        total += 1  # re-read
        if c.kind == "SalesforceFolderShares":
            total += 1 if any(m.action == "add" for m in c.members) else 0
            total += sum(1 for m in c.members if m.action != "add")
        elif c.kind == "KlipfolioClientShareRights":
            total += 1 if any(m.action != "remove" for m in c.members) else 0
            total += sum(1 for m in c.members if m.action == "remove")
        else:
            total += 1
    return total


async def _plan_once(root: Path) -> tuple[Plan, float, dict[str, int], list[Resource]]:
    ws = load_workspace([str(root)])
    providers = connect(ws.config, {r.provider for r in ws.resources})
    start = time.perf_counter()
    try:
        plan = await make_plan(ws.resources, providers, ws.digest)
    finally:
        wall = time.perf_counter() - start
        calls = {a: p.http.stats.calls for a, p in providers.items()}
        await close(providers)
    return plan, wall, calls, ws.resources


async def _apply_once(root: Path, plan: Plan) -> tuple[float, int]:
    ws = load_workspace([str(root)])
    providers = connect(ws.config, {c.provider for c in plan.changes})
    start = time.perf_counter()
    try:
        results = await apply(plan, providers, ws.config.parallelism)
    finally:
        wall = time.perf_counter() - start
        calls = sum(p.http.stats.calls for p in providers.values())
        await close(providers)
    bad = [r for r in results if r.outcome.value != "applied"]
    if bad:
        raise RuntimeError(f"apply did not converge: {bad[0].change.address}: {bad[0].message}")
    return wall, calls


def bound(
    depth: int, calls: int, parallelism: int = PARALLELISM, latency_ms: float = LATENCY_MS
) -> float:
    return (depth + math.ceil(calls / parallelism)) * latency_ms / 1000


def run_latency_bound(size: str, work: Path) -> dict[str, Any]:
    est = make(size, change_every=5)
    root = work / f"ws-{size}"
    root.mkdir()
    est.write(root)
    server = Server(est.state, LATENCY_MS, work)
    try:
        write_config(root, server.urls, lifted=True)
        plan, wall, calls, resources = run(_plan_once(root))
        minimal = minimal_plan_calls(est.state, resources)
        plan_bound = bound(2, sum(minimal.values()))
        apply_wall, apply_calls = run(_apply_once(root, plan))
        apply_min = minimal_apply_calls(plan)
        apply_bound = bound(3, apply_min)
    finally:
        server.stop()
    return {
        "objects": est.objects,
        "plan": {
            "wall_s": round(wall, 3),
            "calls": sum(calls.values()),
            "calls_by_provider": calls,
            "minimal_calls": sum(minimal.values()),
            "minimal_by_provider": minimal,
            "dependency_depth": 2,
            "latency_bound_s": round(plan_bound, 3),
            "ratio": round(wall / plan_bound, 3),
        },
        "apply": {
            "changes": len(plan.changes),
            "wall_s": round(apply_wall, 3),
            "calls": apply_calls,
            "minimal_calls": apply_min,
            "dependency_depth": 3,
            "latency_bound_s": round(apply_bound, 3),
            "ratio": round(apply_wall / apply_bound, 3),
        },
    }


def plan_on_fresh_estate(
    size: str, work: Path, name: str, latency_ms: float, lifted: bool
) -> tuple[float, dict[str, int]]:
    """Plan wall time and calls per provider against a fresh sandbox seeded with an estate."""
    est = make(size, change_every=5)
    root = work / f"ws-{name}-{size}"
    root.mkdir()
    est.write(root)
    server = Server(est.state, latency_ms, work)
    try:
        write_config(root, server.urls, lifted=lifted)
        _, wall, calls, _ = run(_plan_once(root))
    finally:
        server.stop()
    return wall, calls


def run_default_limits(size: str, work: Path) -> dict[str, Any]:
    """Plan with the vendors' own limits: Klipfolio 5 requests/s, BitSight 3 concurrent."""
    wall, calls = plan_on_fresh_estate(size, work, "default", LATENCY_MS, lifted=False)
    # Klipfolio's 5/s dominates: its calls / rate, plus one latency for the last answer.
    kf_bound = calls["klipfolio"] / 5 + LATENCY_MS / 1000
    return {
        "wall_s": round(wall, 3),
        "calls_by_provider": calls,
        "bound_s": round(kf_bound, 3),
        "bound_reason": "klipfolio calls / 5 requests per second",
        "ratio": round(wall / kf_bound, 3),
    }


def run_sandbox_overhead(size: str, work: Path) -> dict[str, Any]:
    wall, calls = plan_on_fresh_estate(size, work, "zero", 0, lifted=True)
    n = sum(calls.values())
    return {
        "calls": n,
        "wall_s": round(wall, 3),
        "requests_per_s": round(n / wall),
        "ms_per_request_at_parallelism_10": round(wall * 1000 * PARALLELISM / n, 2),
    }


def run_cpu_10k(work: Path) -> dict[str, Any]:
    """Load, validate, diff and render 10,000 objects with no network."""
    root = work / "cpu"
    root.mkdir()
    docs = [
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        f"spec: {{name: Role {i:05d}, description: d{i}, permissions: [klip.edit, tab.share]}}"
        for i in range(10_000)
    ]
    (root / "roles.yaml").write_text("\n---\n".join(docs) + "\n")
    start = time.process_time()
    ws = load_workspace([str(root)])
    loaded = time.process_time()
    spec = KlipfolioProvider.KINDS["KlipfolioRole"]
    from reconciler.core.model import LiveObject

    changes = []
    for i, r in enumerate(ws.resources):
        live = LiveObject(
            r.identity,
            {
                "description": f"d{i}",
                "permissions": ["klip.edit"] if i % 5 == 0 else ["klip.edit", "tab.share"],
            },
            {"id": str(i)},
        )
        c = diff(spec, r, live)
        if c is not None:
            changes.append(c)
    diffed = time.process_time()
    out = text.render_plan(Plan(changes, [], ws.digest))
    done = time.process_time()
    return {
        "objects": len(ws.resources),
        "changes": len(changes),
        "cpu_s_total": round(done - start, 3),
        "cpu_s_load_validate": round(loaded - start, 3),
        "cpu_s_diff": round(diffed - loaded, 3),
        "cpu_s_render": round(done - diffed, 3),
        "rendered_chars": len(out),
    }


def run_rate_limited_apply(work: Path, rate: float = 5, roles: int = 40) -> dict[str, Any]:
    """Apply creating `roles` Klipfolio roles at the default 5 requests/s; measure the rate."""
    set_env()
    root = work / "rate"
    root.mkdir()
    docs = [
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        f"spec: {{name: New {i:03d}, permissions: [klip.edit]}}"
        for i in range(roles)
    ]
    (root / "roles.yaml").write_text("\n---\n".join(docs) + "\n")
    with Sandbox({"klipfolio": {"roles": []}}, latency_ms=LATENCY_MS) as sb:
        urls = sb.base_urls()
        (root / "reconciler.yaml").write_text(
            "apiVersion: reconciler/v1\nkind: Config\nproviders:\n"
            f"  klipfolio: {{type: klipfolio, base_url: {urls['klipfolio']}, "
            f"rate_limit_per_second: {rate}}}\n"
            f"settings: {{parallelism: {PARALLELISM}}}\n"
        )
        plan, _, _, _ = run(_plan_once(root))
        n0 = len(sb.log)
        run(_apply_once(root, plan))
        times = sorted(r.at for r in sb.log[n0:])
    peak = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        peak = max(peak, i - j + 1)
    span = times[-1] - times[0]
    average = (len(times) - 1) / span if span else float("inf")
    return {
        "configured_per_s": rate,
        "requests": len(times),
        "max_in_any_1s_window": peak,
        "average_per_s": round(average, 2),
        "share_of_configured": round(average / rate, 3),
    }


def run_startup(runs: int) -> dict[str, Any]:
    """Median and best wall ms of `reconciler --help` and `reconciler validate examples/`, each
    in a fresh process as a user would run it (the installed console script)."""
    import os
    import shutil
    import statistics

    exe = shutil.which("reconciler", path=str(Path(sys.executable).parent)) or shutil.which(
        "reconciler"
    )
    base = [exe] if exe else [sys.executable, "-m", "reconciler"]
    env = {**os.environ, "RECONCILER_ALLOW_HOSTS": "acme.my.salesforce.com"}
    commands = {"help": ["--help"], "validate_examples": ["validate", "examples/"]}
    figures: dict[str, Any] = {"runs": runs, "command": base[0]}
    for name, args in commands.items():
        times, cpu = [], []
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(base + args, cwd=ROOT, env=env, check=True, capture_output=True)
            times.append((time.perf_counter() - start) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            cpu.append(used * 1000)
        figures[f"{name}_median_ms"] = round(statistics.median(times), 1)
        figures[f"{name}_min_ms"] = round(min(times), 1)
        # CPU time (user + system) depends less on what else the machine is running.
        figures[f"{name}_median_cpu_ms"] = round(statistics.median(cpu), 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--startup",
        action="store_true",
        help="only the start-up figures: median wall ms of --help and validate examples/",
    )
    parser.add_argument("--runs", type=int, default=10, help="runs per start-up figure")
    parser.add_argument("--size", choices=["S", "M", "L"], default="M")
    parser.add_argument(
        "--skip-default-limits",
        action="store_true",
        help="skip the (slow, rate-limited) run with the vendors' default limits",
    )
    args = parser.parse_args()
    if args.startup:
        print(json.dumps({"startup": run_startup(args.runs)}, indent=2))
        return
    set_env()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        figures: dict[str, Any] = {
            "size": args.size,
            "latency_ms": LATENCY_MS,
            "parallelism": PARALLELISM,
        }
        figures["latency_bound"] = run_latency_bound(args.size, work)
        figures["sandbox_overhead_zero_latency"] = run_sandbox_overhead(args.size, work)
        if not args.skip_default_limits:
            figures["default_limits_plan"] = run_default_limits(args.size, work)
        figures["rate_limited_apply"] = run_rate_limited_apply(work)
        figures["cpu_10k_objects_no_network"] = run_cpu_10k(work)
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
