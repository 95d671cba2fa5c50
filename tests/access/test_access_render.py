"""The access report's renderers: values from manifests and APIs are inert in every format."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import time
from collections.abc import Callable
from html.parser import HTMLParser

import jsonschema
import pytest

from reconciler.access.html import CSP, JS, script_json
from reconciler.access.model import COLUMNS, By, Report, RoleRow, Row
from reconciler.access.render import read_csv, render, render_csv, render_html, render_json
from reconciler.access.render import render_text as text_of
from reconciler.input.schemas import SCHEMA_DIR
from tests.support.access_sample import AT, COMMIT, GENERATED, row, sample_report, synthetic_report

HOSTILE = (
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    '" onmouseover="alert(3)',
    "' onfocus='alert(4)",
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)",
    "\tTAB",
    "\rCR",
    "'quoted",
    "line\n::warning::pwned",
    "\x1b[2Kerased",
    "\u202eevil\u2028sep\u2029para",
    "<!-- comment",
    "&amp; &lt;",
)


def hostile_report() -> Report:
    rows = []
    for i, value in enumerate(HOSTILE):
        rows.append(
            row(
                f"email:{value}",
                f"klipfolio/KlipfolioClientShareRights/{i}",
                label=value,
                person=value,
                object_label=value,
                detail=value,
                source=f"{value}:{i}",
                privileged=i % 2 == 0,
            )
        )
    role = RoleRow(
        provider="klipfolio",
        kind="KlipfolioRole",
        object="klipfolio/KlipfolioRole/<b>",
        object_label=HOSTILE[1],
        scope=HOSTILE[11],
        permissions=(HOSTILE[0], "admin.klip"),
        privileged=("admin.klip",),
        status="live-only",
        source="live",
    )
    return Report.build(rows, [role], at=AT, generated_at=GENERATED)


def schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SCHEMA_DIR / "access.schema.json").read_text())
    return loaded


# -- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [sample_report, hostile_report, lambda: synthetic_report(200)])
def test_json_validates_against_the_schema_and_reads_back(make: Callable[[], Report]) -> None:
    report = make()
    doc = json.loads(render_json(report))
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(doc, schema(), cls=jsonschema.Draft202012Validator)
    assert list(doc) == [
        "format_version",
        "generated_at",
        "at",
        "workspace",
        "commit",
        "rows",
        "roles",
        "summary",
    ]
    assert all(list(r) == list(COLUMNS) for r in doc["rows"])
    assert Report.from_dict(doc) == report


def test_the_summary_counts_rows_by_status_provider_and_mark() -> None:
    summary = json.loads(render_json(sample_report()))["summary"]
    assert summary == {
        "rows": 7,
        "roles": 2,
        "by_status": {"in-sync": 4, "live-only": 1, "declared-only": 1, "expired": 1},
        "by_provider": {"bitsight": 2, "golem": 1, "klipfolio": 2, "salesforce": 2},
        "privileged": 4,
        "expiring": 1,
        "drifted": 2,
    }


def test_drift_decides_the_detailed_exit_code() -> None:
    report = sample_report()
    assert report.exit_code(detailed=False) == 0
    assert report.exit_code(detailed=True) == 2
    calm = Report.build([r for r in report.rows if not r.drifted], at=AT)
    assert calm.exit_code(detailed=True) == 0


def test_a_row_refuses_an_unknown_access_or_status() -> None:
    with pytest.raises(ValueError, match="access"):
        Row.from_dict({**sample_report().rows[0].as_dict(), "access": "own"})
    with pytest.raises(ValueError, match="status"):
        Row.from_dict({**sample_report().rows[0].as_dict(), "status": "drift"})


def test_expiring_means_within_14_days_after_at() -> None:
    def expiring(expires: str) -> bool:
        return row("email:a@b.c", "x/Y/z", expires=expires).expiring(AT)

    assert expiring("2027-01-10") and expiring("2027-01-23T23:59:59Z")
    assert not expiring("2027-01-24") and not expiring("2027-01-09")


# -- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [sample_report, hostile_report])
def test_csv_parses_back_to_the_json_rows(make: Callable[[], Report]) -> None:
    report = make()
    out = render_csv(report)
    assert out.startswith(",".join(COLUMNS) + "\r\n")
    assert read_csv(out) == json.loads(render_json(report))["rows"]


def test_no_csv_cell_starts_a_formula() -> None:
    cells = [
        c
        for line in csv.reader(io.StringIO(render_csv(hostile_report()), newline=""))
        for c in line
    ]
    assert cells
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert "'-1+1" in cells and "'@SUM(1+1)" in cells and "'+cmd|' /C calc'!A0" in cells


# -- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["principal", "person", "object"])
def test_text_escapes_control_characters_and_starts_no_command(by: By) -> None:
    out = render(hostile_report(), "text", by=by)
    for line in out.splitlines():
        assert not line.lstrip().startswith("::"), line
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert "\u2028" not in out and "\u2029" not in out
    assert "\\x1b[2Kerased" in out and "line\\n::warning::pwned" in out
    assert out.count("\n") == len(out.splitlines())


def test_text_groups_by_principal_person_and_object() -> None:
    report = sample_report()
    by_person = text_of(report, by="person")
    assert "== Jane Doe\n" in by_person and "== (no person)\n" in by_person
    assert by_person.index("== Jane Doe") < by_person.index("== (no person)")
    by_object = text_of(report, by="object")
    assert by_object.count("\n== ") == len({r.object for r in report.rows}) + 1  # + roles
    assert "privileged,drift" in text_of(report, by="principal")
    assert "== Roles" in by_object and "admin.client,admin.klip" in by_object


# -- HTML -----------------------------------------------------------------------------------


TAGS = set(
    "html head meta link title style body h1 h2 p ul li b div label input span button table"
    " thead tbody tr th td br small code script".split()
)
"""The page's own elements: a value adding any other is markup."""


class _Scan(HTMLParser):
    """Every start tag, attribute and script the browser's parser would see."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def test_html_values_cannot_become_markup() -> None:
    page = render_html(hostile_report(), by="person")
    scan = _Scan()
    scan.feed(page)
    # Two scripts: the JSON data and the page's own code; no value adds a tag or attribute.
    assert scan.tags.count("script") == 2
    assert len(scan.scripts) == 2 and scan.scripts[1] == JS
    assert set(scan.tags) <= TAGS, set(scan.tags) - TAGS
    names = {name for name, _ in scan.attrs}
    assert not {n for n in names if n.startswith("on")}, names
    assert "<script>alert" not in page and "</script><script>alert" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "&quot; onmouseover=&quot;alert(3)" in page
    # The embedded JSON holds every value exactly, and cannot close its element.
    data_json = scan.scripts[0]
    assert "<" not in data_json and ">" not in data_json and "&" not in data_json
    assert "\u2028" not in data_json and "\u2029" not in data_json
    rows = json.loads(data_json)["rows"]
    assert {r[COLUMNS.index("principal_label")] for r in rows} == set(HOSTILE)


def test_html_is_self_contained_with_a_strict_policy() -> None:
    page = render_html(sample_report())
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert CSP.startswith("default-src 'none'; ") and "'unsafe-inline'" not in CSP
    # No URL at all: nothing for a browser to fetch.
    assert not re.search(r"(?i)(https?:|ftp:|wss?:|@import|url\(|\bsrc=|\bhref=\"(?!data:,))", page)
    assert page.count("<table") == 2 and '<input type="search" id="filter"' in page
    for mark in ("\u2691 privileged", "\u25f7 expiring", "\u26a0 drift"):
        assert mark in page


def test_script_json_escapes_what_could_end_a_script() -> None:
    out = script_json({"v": "</script><!--\u2028\u2029&"})
    assert out == '{"v":"\\u003c/script\\u003e\\u003c!--\\u2028\\u2029\\u0026"}'
    assert json.loads(out) == {"v": "</script><!--\u2028\u2029&"}


def test_5000_rows_render_to_html_quickly() -> None:
    report = synthetic_report(5000)
    start = time.perf_counter()
    page = render_html(report)
    elapsed = time.perf_counter() - start
    assert page.split("<script")[0].count("<tr class=") == 5000
    print(f"5,000 rows to HTML in {elapsed * 1000:.0f} ms ({len(page) / 1e6:.1f} MB)")


def test_the_header_names_the_workspace_and_commit_in_every_format() -> None:
    report = sample_report()
    text = text_of(report)
    assert text.splitlines()[1] == f"Workspace: access/ at commit {COMMIT}"
    page = render_html(report)
    origin = f"Workspace: <code>access/</code> at commit <code>{COMMIT}</code>"
    assert f'<p class="meta" id="origin">{origin}</p>' in page
    doc = json.loads(render_json(report))
    assert (doc["workspace"], doc["commit"]) == (["access/"], COMMIT)
    # Outside a checkout: no commit, and no word about one.
    bare = dataclasses.replace(report, commit=None)
    assert text_of(bare).splitlines()[1] == "Workspace: access/"
    assert "commit" not in render_html(bare).split('id="origin">')[1].split("</p>")[0]
    assert json.loads(render_json(bare))["commit"] is None
