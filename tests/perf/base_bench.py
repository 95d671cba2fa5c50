"""Benchmark: `plan --base` on a pull request that edits three documents; prints JSON figures.

    python tests/perf/base_bench.py [--scale 4.25] [--big 10] [--latency-ms 20]

Builds the L estate scaled to 6,800 objects (one document a file, committed in a
temporary Git repository), serves it from `reconciler sandbox serve` in its own process
at 20 ms a request, and edits one Klipfolio role, one BitSight folder and one Golem share.
Prints, for the estate and one `--big` times larger: the calls of the full plan and of
`plan --base main` (counted from `-v`'s log of each HTTP call), the minimum for the three
objects, and the wall times: the `--base` plan against the tool's start-up on the same
workspace (`validate`, which loads and checks every document and makes no call) plus the
calls at the sandbox latency. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf import estate  # noqa: E402
from tests.perf.bench import ENV, PARALLELISM, write_config  # noqa: E402

SERVE = """
import json, sys, threading
from reconciler.sandbox import Sandbox
state = json.load(open(sys.argv[1]))
sb = Sandbox(state, latency_ms=float(sys.argv[2]))
sb.start()
for vendor, url in sb.base_urls().items():
    print(vendor, url, flush=True)
sys.stdin.read()
sb.stop()
"""


class Server:
    """The sandbox in a child process (its CPU is not ours), seeded from JSON: the state of
    68,000 objects is past the YAML state file's size cap."""

    def __init__(self, state: dict[str, Any], latency_ms: float, workdir: Path) -> None:
        path = workdir / "state.json"
        path.write_text(json.dumps(state))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(path), str(latency_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.urls: dict[str, str] = {}
        while len(self.urls) < 4:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("sandbox did not start")
            vendor, url = line.split()
            self.urls[vendor] = url

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


CALL = re.compile(r"\b(GET|PUT|POST|PATCH|DELETE) https?://")
FORMULA = (
    "Klipfolio: 1 list of the role's scope + 1 read of the role; BitSight: 1 list of all "
    "folders (its API has no per-folder read); Golem: 1 list of the share's owner account; "
    "= 3 + (1 per further Klipfolio role) + (1 per further Golem owner); here 4"
)


def scaled(factor: float) -> dict[str, int]:
    return {k: round(v * factor) for k, v in estate.SIZES["L"].items()}


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def build(work: Path, factor: float) -> tuple[Path, estate.Estate]:
    estate.SIZES["bench"] = scaled(factor)
    est = estate.make("bench", change_every=0)
    repo = work / "repo"
    (repo / "access").mkdir(parents=True)
    for name, docs in est.docs.items():
        folder = repo / "access" / name.removesuffix(".yaml")
        folder.mkdir()
        for i, doc in enumerate(docs):
            (folder / f"{i:06d}.yaml").write_text(doc + "\n")
    return repo, est


def edit(repo: Path) -> None:
    """The pull request: one role, one folder, one Golem share."""

    def change(path: Path, fn: Any) -> None:
        head, _, spec = path.read_text().partition("spec: ")
        data = json.loads(spec)
        fn(data)
        path.write_text(head + "spec: " + json.dumps(data) + "\n")

    access = repo / "access"
    change(access / "klipfolio-roles/000001.yaml", lambda s: s["permissions"].append("klip.email"))
    change(access / "bitsight/000001.yaml", lambda s: s.update(group_can_edit_contents=True))
    change(
        access / "golem/000001.yaml",
        lambda s: s["data"].setdefault("lowerPositive", []).append("pr-added"),
    )


def cli(repo: Path, *args: str) -> tuple[float, int, int]:
    """Wall seconds, exit code and HTTP calls of one `reconciler` run in a fresh process."""
    env = {**os.environ, **{v: f"sandbox-{k}-credential" for k, v in ENV.items()}}
    env["RECONCILER_ALLOW_LOOPBACK"] = "1"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    # Exit 1 with a plan on stdout is the policy check (a guard the estate trips), not a
    # failure of the run.
    if done.returncode not in (0, 1, 2) or (done.returncode == 1 and not done.stdout):
        raise RuntimeError(done.stderr[-2000:])
    return wall, done.returncode, sum(1 for line in done.stderr.splitlines() if CALL.search(line))


def run(factor: float, latency_ms: float, work: Path, repeat: int) -> dict[str, Any]:
    repo, est = build(work, factor)
    server = Server(est.state, latency_ms, work)
    try:
        write_config(repo / "access", server.urls, lifted=True)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "base")
        edit(repo)
        full_wall, _, full_calls = cli(repo, "plan", "access/", "-v", "--format", "json")
        # Each a median of `repeat` runs, alternated: one run of each varies by 20-30% here.
        base_walls, startups, calls = [], [], set()
        for _ in range(repeat):
            wall, _, n = cli(repo, "plan", "access/", "-v", "--base", "main", "--format", "json")
            base_walls.append(wall)
            calls.add(n)
            startups.append(cli(repo, "validate", "access/")[0])
        if len(calls) != 1:
            raise RuntimeError(f"the --base plan made different numbers of calls: {calls}")
        base_calls = calls.pop()
        base_wall, startup = statistics.median(base_walls), statistics.median(startups)
        minimum = 4
        # The sequential rounds: Klipfolio lists, then reads the role; the rest in parallel.
        depth = 2
        bound = startup + (depth + math.ceil(minimum / PARALLELISM) - 1) * latency_ms / 1000
        return {
            "objects": est.objects,
            "full_plan": {"calls": full_calls, "wall_s": round(full_wall, 2)},
            "base_plan": {
                "calls": base_calls,
                "minimum_calls": minimum,
                "wall_s": round(base_wall, 2),
                "startup_s": round(startup, 2),
                "bound_s": round(bound, 2),
                "ratio": round(base_wall / bound, 2),
                "runs": repeat,
                "wall_s_each": [round(w, 2) for w in base_walls],
            },
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=4.25, help="times the L estate")
    parser.add_argument("--big", type=float, default=10, help="times the first estate")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the --base plan")
    args = parser.parse_args()
    figures: dict[str, Any] = {"latency_ms": args.latency_ms, "formula": FORMULA}
    with tempfile.TemporaryDirectory() as tmp:
        figures["estate"] = run(args.scale, args.latency_ms, Path(tmp) / "a", args.repeat)
    print(json.dumps(figures["estate"]), file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        figures[f"estate_x{args.big:g}"] = run(
            args.scale * args.big, args.latency_ms, Path(tmp) / "b", args.repeat
        )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
