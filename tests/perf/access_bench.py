"""Benchmark: the access report beyond the reads; prints one JSON object. No assertion.

    python tests/perf/access_bench.py [--rows N] [--runs R] [--size XS|S|M|L] [--browser]

- `renderers`: the best of R runs, in milliseconds, for each format over N synthetic rows.
- `estate`: the benchmark's estate (tests/perf/estate.py, default the largest, `L`) on the
  in-process sandbox: the reads once (`workflow.read_live`, what `plan` reads), then the
  best of R runs of `collect` (rows from the states) and of collect + render per format:
  SPEC.md §6 wants this well under a second.
- `browser` (with `--browser`): Chromium filtering the N-row HTML page, milliseconds from
  the keystroke to the updated count, less the debounce (tests/test_access_html.py checks
  what the filter shows; it does not time it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reconciler.access.collect import collect  # noqa: E402
from reconciler.access.render import FORMATS, render, render_html  # noqa: E402
from reconciler.engine import workflow  # noqa: E402
from reconciler.plugin.registry import providers  # noqa: E402
from tests.perf.estate import SIZES, make  # noqa: E402
from tests.support.access_sample import synthetic_report  # noqa: E402


def estate(size: str, runs: int) -> dict[str, Any]:
    """The report of an estate beyond the reads: collect, and collect + render per format."""
    from reconciler.sandbox import Sandbox

    est = make(size, change_every=5)
    sb = Sandbox(est.state, retry_after=0)
    urls = sb.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            est.write(root)
            lines = ["apiVersion: reconciler/v1", "kind: Config", "providers:"]
            for vendor, url in urls.items():
                lines += [f"  {vendor}:", f"    type: {vendor}", f"    base_url: {url}"]
                lines += ["    rate_limit_per_second: 0", "    max_concurrency: 0"]
            (root / "reconciler.yaml").write_text("\n".join(lines) + "\n")
            for vendor, cls in providers().items():
                os.environ[cls.DEFAULTS.credential_env] = sb.credentials().get(vendor, "x")
            os.environ["RECONCILER_ALLOW_LOOPBACK"] = "1"  # the config points at loopback
            start = time.perf_counter()
            ws, resources, live = workflow.read_live([str(root)])
            read_s = time.perf_counter() - start
    finally:
        sb.stop()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        report = collect(ws, live, resources)
        best = min(best, time.perf_counter() - start)
    figures: dict[str, Any] = {
        "size": size,
        "objects": est.objects,
        "rows": len(report.rows),
        "roles": len(report.roles),
        "reads_s": round(read_s, 3),
        "collect_ms": round(best * 1000, 1),
    }
    for fmt in FORMATS:
        best = float("inf")
        for _ in range(runs):
            start = time.perf_counter()
            render(collect(ws, live, resources), fmt)
            best = min(best, time.perf_counter() - start)
        figures[f"collect_render_{fmt}_ms"] = round(best * 1000, 1)
    return figures


def browser_filter(rows: int) -> float:
    """Milliseconds Chromium takes to filter the page of `rows` rows (debounce excluded)."""
    from tests.support.browser import chrome

    with tempfile.TemporaryDirectory() as tmp, chrome() as driver:
        path = Path(tmp) / "big.html"
        path.write_text(render_html(synthetic_report(rows)))
        driver.get(path.as_uri())
        deadline = time.monotonic() + 30
        while driver.execute_script("return document.documentElement.dataset.ready") != "true":
            if time.monotonic() > deadline:
                raise RuntimeError("the page's script did not finish")
            time.sleep(0.02)
        elapsed: float = driver.execute_async_script(FILTER_TIMER)
        return round(elapsed, 1)


FILTER_TIMER = """
var done = arguments[arguments.length - 1];
var shown = document.getElementById('shown'), f = document.getElementById('filter');
var before = shown.textContent, t0;
new MutationObserver(function () {
  if (shown.textContent !== before) done(performance.now() - t0 - 120);
}).observe(shown, {childList: true, characterData: true, subtree: true});
f.value = 'user00042';
t0 = performance.now();
f.dispatchEvent(new Event('input'));
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", choices=list(SIZES), default="L")
    parser.add_argument("--browser", action="store_true", help="also time the HTML filter")
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
    out: dict[str, Any] = {"renderers": figures, "estate": estate(args.size, args.runs)}
    if args.browser:
        out["browser"] = {"rows": args.rows, "filter_ms": browser_filter(args.rows)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
