"""Fallback workflow check when actionlint is not installable: YAML parses, jobs have steps."""

from __future__ import annotations

import sys

import yaml


def main(paths: list[str]) -> int:
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        jobs = doc.get("jobs") if isinstance(doc, dict) else None
        if not isinstance(jobs, dict) or not jobs:
            print(f"{path}: no jobs", file=sys.stderr)
            bad += 1
            continue
        if True not in doc and "on" not in doc:
            print(f"{path}: no `on:` trigger", file=sys.stderr)
            bad += 1
        for name, job in jobs.items():
            if not isinstance(job, dict) or not job.get("steps") or "runs-on" not in job:
                print(f"{path}: job {name} needs runs-on and steps", file=sys.stderr)
                bad += 1
    print(f"checked {len(paths)} workflow files, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
