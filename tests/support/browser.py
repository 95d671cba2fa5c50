"""Debian's Chromium, headless, driven by Selenium: for the HTML report's tests and screenshot.

The browsers that some Python packages download cannot be fetched here: `.ci/run` installs
Debian's `chromium` and `chromium-driver` instead, and a missing one fails the tests.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
)


def missing() -> str | None:
    """Why the browser cannot run, or None."""
    gone = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        gone.append("the selenium package (pip install -e '.[dev]')")
    if not gone:
        return None
    return (
        f"missing {', '.join(gone)}: .ci/run installs Debian's chromium and chromium-driver "
        "(apt-get install -y chromium chromium-driver)"
    )


@contextlib.contextmanager
def chrome(width: int = 1400, height: int = 900, log_network: bool = True) -> Iterator[WebDriver]:
    """A headless Chromium session (a selenium WebDriver) with a fresh profile.

    With `log_network`, the performance log (`driver.get_log("performance")`) records
    every request the page makes.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="reconciler-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    if log_network:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
