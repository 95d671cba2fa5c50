"""Take docs/access-report.png: the sample access report in Debian's headless Chromium.

    python tests/perf/access_screenshot.py [--out docs/access-report.png]

Not part of the test run; rerun it when the page's look changes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reconciler.access.render import render_html  # noqa: E402
from tests.support.access_sample import sample_report  # noqa: E402
from tests.support.browser import chrome, missing  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "access-report.png")
    args = parser.parse_args()
    why = missing()
    if why is not None:
        sys.exit(why)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "access.html"
        page.write_text(render_html(sample_report()))
        with chrome(width=1500, height=860, log_network=False) as driver:
            driver.get(page.as_uri())
            while driver.execute_script("return document.documentElement.dataset.ready") != "true":
                time.sleep(0.05)
            driver.save_screenshot(str(args.out))
    print(args.out)


if __name__ == "__main__":
    main()
