"""Benchmark: the access report's renderers on a synthetic estate; prints one JSON object.

    python tests/perf/access_bench.py [--rows N] [--runs R]

The best of R runs, in milliseconds, for each format (HTML is the one to watch: SPEC.md §6
wants the largest estate's report well under a second beyond the reads). No assertion.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reconciler.access.render import FORMATS, render  # noqa: E402
from tests.access_sample import synthetic_report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    report = synthetic_report(args.rows)
    figures: dict[str, float | int] = {
        "rows": args.rows,
        "build_ms": round((time.perf_counter() - start) * 1000, 1),
    }
    for fmt in FORMATS:
        best = float("inf")
        size = 0
        for _ in range(args.runs):
            fresh = type(report)(
                at=report.at, generated_at=report.generated_at, rows=report.rows
            )  # summary not cached
            start = time.perf_counter()
            size = len(render(fresh, fmt))
            best = min(best, time.perf_counter() - start)
        figures[f"{fmt}_ms"] = round(best * 1000, 1)
        figures[f"{fmt}_bytes"] = size
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
