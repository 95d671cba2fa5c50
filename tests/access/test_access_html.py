"""The HTML access report in a real browser: Debian's Chromium, headless, via Selenium.

They need a browser, which a machine with only Python and pip lacks, so they carry the
`browser` marker: the README's `python -m pytest` leaves them out, and `.ci/run` installs
Debian's `chromium` and `chromium-driver` and runs them (`-m "slow or browser or tools"`). There a
missing browser fails them; it never skips them. No test here times anything: the
filter's speed over 5,000 rows is `python tests/perf/access_bench.py --browser`.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from reconciler.access.model import Report
from reconciler.access.render import render_html
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import load_state
from tests.support.access_sample import sample_report, synthetic_report
from tests.support.browser import chrome, missing
from tests.support.harness import RunCli, Workspace

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

VISIBLE = """
return Array.from(document.querySelectorAll('#rows tbody tr:not(.group)'))
  .filter(function (tr) { return !tr.hidden; })
  .map(function (tr) { return tr.cells[1].firstChild.textContent; });
"""
GROUPS = """
return Array.from(document.querySelectorAll('#rows tbody tr.group'))
  .filter(function (tr) { return !tr.hidden; })
  .map(function (tr) { return tr.textContent; });
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    why = missing()
    if why is not None:
        pytest.fail(why, pytrace=False)
    with chrome() as driver:
        yield driver


class _Site:
    """One page on 127.0.0.1, and every path the browser asked for."""

    def __init__(self, page: str) -> None:
        self.page = page.encode()
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                site.requests.append(self.path)
                ok = self.path == "/report.html"
                body = site.page if ok else b"not found"
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/report.html"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _network(driver: WebDriver) -> list[str]:
    """Every URL the page asked for since the last call, from Chrome's performance log."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return [u for u in urls if not u.startswith(("chrome:", "chrome-untrusted:"))]


def _open(driver: WebDriver, url: str) -> None:
    driver.get("about:blank")
    _network(driver)
    driver.get_log("browser")
    driver.get(url)
    deadline = time.monotonic() + 10
    while driver.execute_script("return document.documentElement.dataset.ready") != "true":
        assert time.monotonic() < deadline, "the page's script did not finish"
        time.sleep(0.02)


def _wait(driver: WebDriver, script: str, want: Any) -> Any:
    deadline = time.monotonic() + 5
    got = driver.execute_script(script)
    while got != want and time.monotonic() < deadline:
        time.sleep(0.02)
        got = driver.execute_script(script)
    return got


def _click_header(driver: WebDriver, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f'#rows th[data-key="{key}"] button').click()


def _labels(report: Report) -> list[str]:
    return [r.principal_label for r in report.rows]


def test_the_page_filters_sorts_marks_and_makes_no_request(browser: WebDriver) -> None:
    from selenium.webdriver.common.by import By

    report = sample_report()
    with _Site(render_html(report)) as site:
        _open(browser, site.url)
        requested = _network(browser)
        problems = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        resources = browser.execute_script("return performance.getEntriesByType('resource')")
    # No request beyond the page: not the server's, not the browser's, no console error
    # (a CSP violation or a script error would be one).
    assert site.requests == ["/report.html"]
    assert requested == [site.url]
    assert resources == []
    assert problems == []

    # The table renders the expected rows, in the report's order.
    assert browser.execute_script(VISIBLE) == _labels(report)
    assert browser.find_element(By.ID, "shown").text == "Showing 7 of 7 grants"

    # A privileged row is marked: a class and a visible word.
    finance = browser.find_element(By.XPATH, "//table[@id='rows']//tr[contains(., 'Finance')]")
    assert "priv" in (finance.get_attribute("class") or "").split()
    assert "privileged" in finance.find_element(By.CSS_SELECTOR, ".m-priv").text
    mallory = browser.find_element(By.XPATH, "//table[@id='rows']//tr[contains(., 'mallory')]")
    assert {"priv", "drift"} <= set((mallory.get_attribute("class") or "").split())
    assert "drift" in mallory.find_element(By.CSS_SELECTOR, ".m-drift").text
    jane = browser.find_element(By.XPATH, "//table[@id='rows']//tr[contains(., 'jane@acme')]")
    assert "expiring" in jane.find_element(By.CSS_SELECTOR, ".m-exp").text

    # Typing in the filter narrows the rows (every term, any column, any case).
    box = browser.find_element(By.ID, "filter")
    box.send_keys("JANE")
    janes = [r.principal_label for r in report.rows if "jane" in json.dumps(r.as_dict()).lower()]
    assert 0 < len(janes) < len(report.rows)
    assert _wait(browser, VISIBLE, janes) == janes
    box.send_keys(" manage")
    assert _wait(browser, VISIBLE, ["Finance", "Jane Doe"]) == ["Finance", "Jane Doe"]
    box.clear()
    box.send_keys("drift")
    assert _wait(browser, VISIBLE, ["mallory@example.org", "jane (golem)"]) == [
        "mallory@example.org",
        "jane (golem)",
    ]
    browser.execute_script(
        "var f = document.getElementById('filter'); f.value = '';"
        "f.dispatchEvent(new Event('input'));"
    )
    assert _wait(browser, VISIBLE, _labels(report)) == _labels(report)

    # Clicking a header sorts; clicking it again reverses.
    _click_header(browser, "principal_label")
    ascending = sorted(_labels(report), key=str.lower)
    assert browser.execute_script(VISIBLE) == ascending
    th = browser.find_element(By.CSS_SELECTOR, '#rows th[data-key="principal_label"]')
    assert th.get_attribute("aria-sort") == "ascending"
    _click_header(browser, "principal_label")
    assert browser.execute_script(VISIBLE) == ascending[::-1]

    # Views: by person groups the rows under each person, with a count.
    browser.find_element(By.CSS_SELECTOR, '[data-view="person"]').click()
    groups = browser.execute_script(GROUPS)
    assert groups == ["(no person) \u2014 3 grants", "Jane Doe \u2014 4 grants"]
    browser.find_element(By.CSS_SELECTOR, '[data-view="object"]').click()
    assert len(browser.execute_script(GROUPS)) == len({r.object for r in report.rows})
    browser.find_element(By.CSS_SELECTOR, '[data-view="all"]').click()
    assert browser.execute_script(GROUPS) == []


def test_the_file_loads_from_disk_with_no_request_and_no_url(
    browser: WebDriver, tmp_path: Path
) -> None:
    page = render_html(sample_report(), by="object")
    # No URL at all in the file: nothing to fetch, whatever the browser.
    assert not re.search(r"(?i)(https?:|ftp:|wss?:|//[a-z0-9.-]+\.[a-z]{2,}|@import|url\()", page)
    path = tmp_path / "access.html"
    path.write_text(page)
    _open(browser, path.as_uri())
    assert _network(browser) == [path.as_uri()]
    assert browser.execute_script("return performance.getEntriesByType('resource')") == []
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    # `by="object"` opens grouped by object.
    assert len(browser.execute_script(GROUPS)) == len({r.object for r in sample_report().rows})


def test_the_table_reads_without_javascript(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    why = missing()
    if why is not None:
        pytest.fail(why, pytrace=False)
    report = sample_report()
    path = tmp_path / "access.html"
    path.write_text(render_html(report))
    with chrome(log_network=False) as driver:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        driver.get(path.as_uri())
        assert driver.execute_script is not None
        rows = driver.find_elements(By.CSS_SELECTOR, "#rows tbody tr")
        assert len(rows) == len(report.rows)
        assert all(r.is_displayed() for r in rows)
        assert not driver.find_element(By.ID, "filter").is_displayed()
        assert "Finance" in driver.find_element(By.ID, "rows").text
        assert "Admins" in driver.find_element(By.ID, "roles").text


def test_filtering_5000_rows_narrows_them_to_the_matching_ones(
    browser: WebDriver, tmp_path: Path
) -> None:
    # A functional check: how fast the filter is, tests/perf/access_bench.py --browser says.
    report = synthetic_report(5000)
    path = tmp_path / "big.html"
    path.write_text(render_html(report))
    _open(browser, path.as_uri())
    assert len(browser.execute_script(VISIBLE)) == 5000
    browser.execute_script(
        "var f = document.getElementById('filter'); f.value = arguments[0];"
        "f.dispatchEvent(new Event('input'));",
        "user00042",
    )
    want = [r.principal_label for r in report.rows if "user00042" in r.principal]
    assert 0 < len(want) < 5000
    assert _wait(browser, VISIBLE, want) == want


FITS = """
var width = document.documentElement.clientWidth, out = [];
['status', 'source'].forEach(function (key) {
  var th = document.querySelector('#rows th[data-key="' + key + '"]');
  var i = th.cellIndex, cells = [th];
  document.querySelectorAll('#rows tbody tr:not(.group)').forEach(function (tr) {
    cells.push(tr.cells[i]);
  });
  cells.forEach(function (c) {
    var box = c.getBoundingClientRect();
    if (box.left < 0 || box.right > width) out.push(key + ': ' + c.textContent);
  });
});
return {width: width, scroll: document.documentElement.scrollWidth, outside: out};
"""


def test_at_1280_px_the_status_column_is_on_screen_and_a_hand_made_admin_is_privileged(
    ws: Workspace, sandbox: Sandbox, cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selenium.webdriver.common.by import By

    why = missing()
    if why is not None:
        pytest.fail(why, pytrace=False)
    # The example workspace on the sandbox, and a role someone made by hand in Klipfolio.
    for sub in ("klipfolio", "bitsight", "golem", "salesforce"):
        shutil.copytree(EXAMPLES / sub, ws.root / sub)
    shutil.copy(EXAMPLES / "people.yaml", ws.root / "people.yaml")
    ws.config(providers="klipfolio.prune: [roles]\ngolem.prune: [permission_shares]")
    sandbox.reset(load_state(EXAMPLES / "sandbox-state.yaml"))
    url = sandbox.base_urls()["klipfolio"]
    made = httpx.post(
        f"{url}/roles",
        headers={"kf-api-key": sandbox.credentials()["klipfolio"]},
        json={"name": "Shadow Admins", "description": "", "permissions": ["admin.klip"]},
    )
    assert made.status_code == 201
    monkeypatch.chdir(ws.root)
    page = tmp_path / "access.html"
    ran = cli("access", ".", "--format", "html", "--out", str(page), "--at", "2026-12-01")
    assert ran.code == 0, ran.err
    with chrome(width=1280, height=900, log_network=False) as driver:
        driver.get(page.as_uri())
        fits = driver.execute_script(FITS)
        assert fits["outside"] == [], fits
        assert fits["scroll"] <= fits["width"], fits
        shadow = driver.find_element(
            By.XPATH, "//table[@id='roles']//tr[contains(., 'Shadow Admins')]"
        )
        assert "priv" in (shadow.get_attribute("class") or "").split()
        assert "privileged" in shadow.find_element(By.CSS_SELECTOR, ".m-priv").text
        assert "admin.klip" in shadow.text
