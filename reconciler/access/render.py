"""The access report as text, CSV, JSON and HTML (docs/access.md).

Values come from manifests and vendor APIs: they are data in every format.

- text: control characters escaped (`escape.text`), no line a GitHub workflow command.
- CSV: RFC 4180 (the csv module, CRLF); a cell that a spreadsheet would read as a formula
  (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`. A cell starting with
  `'` is prefixed too, so `read_csv` can undo the prefix exactly.
- JSON: `_schemas/access.schema.json`.
- HTML: `reconciler.access.html`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from reconciler.access.html import render_html
from reconciler.access.model import (
    COLUMNS,
    By,
    Report,
    RoleRow,
    Row,
    group_key,
)
from reconciler.core.escape import no_commands
from reconciler.core.escape import text as esc

Format = Literal["text", "csv", "json", "html"]
FORMATS: tuple[Format, ...] = ("text", "csv", "json", "html")

__all__ = [
    "FORMATS",
    "read_csv",
    "render",
    "render_csv",
    "render_html",
    "render_json",
    "render_text",
]


def render(report: Report, fmt: Format = "text", by: By = "principal") -> str:
    """The report in `fmt`; `by` groups text and picks the HTML page's first view."""
    if fmt == "text":
        return render_text(report, by=by)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "html":
        return render_html(report, by=by)
    raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")


# -- JSON -----------------------------------------------------------------------------------


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"


# -- CSV ------------------------------------------------------------------------------------

_FORMULA = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_cell(value: object) -> str:
    """One CSV cell: None empty, booleans `true`/`false`, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    cell = str(value)
    return "'" + cell if cell.startswith(_FORMULA) else cell


def render_csv(report: Report) -> str:
    """The rows with the `COLUMNS` as header (roles are in JSON, text and HTML)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in report.rows:
        data = row.as_dict()
        writer.writerow([csv_cell(data[c]) for c in COLUMNS])
    return out.getvalue()


def read_csv(text: str) -> list[dict[str, Any]]:
    """`render_csv`'s rows as the JSON has them (prefix undone, types restored)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    rows = []
    for cells in reader:
        data: dict[str, Any] = {}
        for name, cell in zip(header, cells, strict=True):
            value: Any = cell[1:] if cell.startswith("'") else cell
            if name == "privileged":
                value = value == "true"
            elif name in ("person", "expires") and value == "":
                value = None
            data[name] = value
        rows.append(data)
    return rows


# -- text -----------------------------------------------------------------------------------

TextColumn = tuple[str, Callable[[Row], str]]


def _dash(value: str | None) -> str:
    return value if value else "-"


def _columns(by: By, report: Report) -> list[TextColumn]:
    principal: TextColumn = ("PRINCIPAL", lambda r: r.principal)
    person: TextColumn = ("PERSON", lambda r: _dash(r.person))
    obj: TextColumn = ("OBJECT", lambda r: r.object)
    rest: list[TextColumn] = [
        ("ACCESS", lambda r: r.access),
        ("STATUS", lambda r: r.status),
        ("EXPIRES", lambda r: _dash(r.expires)),
        ("FLAGS", lambda r: _dash(",".join(r.marks(report.at_time)))),
        ("DETAIL", lambda r: _dash(r.detail)),
        ("SOURCE", lambda r: r.source),
    ]
    if by == "principal":
        return [obj, ("NAME", lambda r: r.object_label), *rest]
    if by == "person":
        return [principal, ("LABEL", lambda r: r.principal_label), obj, *rest]
    return [principal, ("LABEL", lambda r: r.principal_label), person, *rest]


def _heading(row: Row, by: By) -> str:
    if by == "principal":
        person = f"  person: {row.person}" if row.person else ""
        return f"{row.principal_label} <{row.principal}>{person}"
    if by == "person":
        return row.person or "(no person)"
    return f"{row.object_label} <{row.object}> ({row.kind})"


def _table(header: Sequence[str], body: Iterable[Sequence[str]], indent: str) -> list[str]:
    cells = [list(header), *([esc(c) for c in line] for line in body)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]


def origin_line(report: Report) -> str:
    """`Workspace: PATH...` and, from a Git checkout, `at commit SHA`."""
    where = "Workspace: " + (" ".join(report.workspace) or "(not named)")
    return where + (f" at commit {report.commit}" if report.commit else "")


def summary_line(report: Report) -> str:
    s = report.summary
    statuses = ", ".join(f"{k} {v}" for k, v in s.by_status.items())
    providers = ", ".join(f"{k} {v}" for k, v in s.by_provider.items()) or "none"
    return (
        f"{s.rows} grants, {s.roles} roles; {statuses}; privileged {s.privileged}, "
        f"expiring within 14 days {s.expiring}, drifted {s.drifted}; by provider: {providers}"
    )


def render_text(report: Report, by: By = "principal") -> str:
    """A table per group (`--by principal|person|object`), then the roles."""
    columns = _columns(by, report)
    header = [name for name, _ in columns]
    groups: dict[str, list[Row]] = {}
    for row in report.rows:
        groups.setdefault(group_key(row, by), []).append(row)
    lines = [
        esc(f"Access at {report.at} (generated {report.generated_at})"),
        esc(origin_line(report)),
        esc(summary_line(report)),
    ]
    for key in sorted(groups, key=lambda k: (k == "", k)):
        rows = groups[key]
        lines += ["", "== " + esc(_heading(rows[0], by))]
        lines += _table(header, ([get(r) for _, get in columns] for r in rows), "  ")
    if report.roles:
        lines += ["", "== Roles"]
        lines += _table(
            ["ROLE", "NAME", "SCOPE", "STATUS", "FLAGS", "PRIVILEGED", "PERMISSIONS", "SOURCE"],
            (_role_cells(r) for r in report.roles),
            "  ",
        )
    if not report.rows and not report.roles:
        lines += ["", "No grants."]
    return no_commands("\n".join(lines)) + "\n"


def _role_cells(role: RoleRow) -> list[str]:
    return [
        role.object,
        role.object_label,
        role.scope,
        role.status,
        _dash(",".join(role.marks())),
        _dash(",".join(role.privileged)),
        _dash(",".join(role.permissions)),
        role.source,
    ]
