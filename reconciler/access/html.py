"""The access report as one self-contained HTML page that makes no network request.

- No URL at all: CSS and JS inline (both in access/page.py), no font, image or icon (the
  icon is an empty `data:`), and a Content-Security-Policy of `default-src 'none'` that
  admits only this page's own style and script, by hash, so nothing a value smuggles in
  could load or run.
- A plain `<table>` that reads without JS; the script enhances it: a filter box (debounced,
  over precomputed lowercase text, toggling `hidden` only on rows that change), sortable
  columns (click a header), and views grouped by person, principal or object.
- Privileged, expiring (within 14 days of the report's `at`) and drifted rows carry a
  class and a visible word, not a colour only.
- Every value is HTML-escaped (`html.escape(quote=True)`, after control characters are
  shown escaped); the data for the script is JSON in `<script type="application/json">`
  with `<`, `>`, `&`, U+2028 and U+2029 escaped, so no value can close the element.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from typing import Any

from reconciler.access.model import COLUMNS, By, Report, RoleRow, Row, group_key
from reconciler.access.page import CSP, CSS, JS
from reconciler.core.escape import text as esc

VIEWS = ("all", "person", "principal", "object")

# (label, key of the row value it sorts by): the table's columns, in order.
HEAD: tuple[tuple[str, str], ...] = (
    ("Marks", "flags"),
    ("Principal", "principal_label"),
    ("Person", "person"),
    ("Provider", "provider"),
    ("Kind", "kind"),
    ("Object", "object_label"),
    ("Access", "access"),
    ("Detail", "detail"),
    ("Status", "status"),
    ("Expires", "expires"),
    ("Source", "source"),
)

MARKS = {
    "privileged": ("m-priv", "\u2691 privileged"),
    "expiring": ("m-exp", "\u25f7 expiring"),
    "drift": ("m-drift", "\u26a0 drift"),
}
ROW_CLASS = {"privileged": "priv", "expiring": "expiring", "drift": "drift"}


def h(value: object) -> str:
    """A value as HTML text or attribute: control characters shown, then HTML-escaped."""
    return html.escape(esc("" if value is None else value), quote=True)


def script_json(data: Any) -> str:
    """JSON that can sit inside `<script type="application/json">` whatever it holds."""
    return (
        json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _marks(names: list[str]) -> str:
    return " ".join(f'<span class="mark {MARKS[m][0]}">{MARKS[m][1]}</span>' for m in names)


def _row(row: Row, marks: list[str]) -> str:
    classes = [ROW_CLASS[m] for m in marks] + ["st-" + row.status]
    return (
        f'<tr class="{" ".join(classes)}">'
        f"<td>{_marks(marks)}</td>"
        f"<td>{h(row.principal_label)}<br><small>{h(row.principal)}</small></td>"
        f"<td>{h(row.person)}</td>"
        f"<td>{h(row.provider)}</td>"
        f"<td>{h(row.kind)}</td>"
        f"<td>{h(row.object_label)}<br><small>{h(row.object)}</small></td>"
        f"<td>{h(row.access)}</td>"
        f"<td>{h(row.detail)}</td>"
        f'<td class="st">{h(row.status)}</td>'
        f'<td class="expires">{h(row.expires)}</td>'
        f"<td><code>{h(row.source)}</code></td>"
        "</tr>"
    )


def group_label(row: Row, by: By) -> str:
    """The heading of a row's group in a view (the script writes the same)."""
    if by == "person":
        return row.person or "(no person)"
    if by == "principal":
        return f"{row.principal_label} <{row.principal}>"
    return f"{row.object_label} <{row.object}>"


def _group(label: str, size: int) -> str:
    grants = "grant" if size == 1 else "grants"
    return (
        f'<tr class="group"><th scope="colgroup" colspan="{len(HEAD)}" data-label="{h(label)}">'
        f"{h(label)} \u2014 {size} {grants}</th></tr>"
    )


def _role(role: RoleRow) -> str:
    marks = role.marks()
    classes = [ROW_CLASS[m] for m in marks] + ["st-" + role.status]
    return (
        f'<tr class="{" ".join(classes)}">'
        f"<td>{_marks(marks)}</td>"
        f"<td>{h(role.object_label)}<br><small>{h(role.object)}</small></td>"
        f"<td>{h(role.provider)}</td>"
        f"<td>{h(role.kind)}</td>"
        f"<td>{h(role.scope)}</td>"
        f"<td>{h(', '.join(role.privileged))}</td>"
        f"<td>{h(', '.join(role.permissions))}</td>"
        f'<td class="st">{h(role.status)}</td>'
        f"<td><code>{h(role.source)}</code></td>"
        "</tr>"
    )


def _summary(report: Report) -> str:
    s = report.summary
    items = [(s.rows, "grants"), (s.roles, "roles")]
    items += [(v, k) for k, v in s.by_status.items()]
    items += [(s.privileged, "privileged"), (s.expiring, "expiring within 14 days")]
    items += [(s.drifted, "drifted")]
    items += [(v, f"on {k}") for k, v in s.by_provider.items()]
    return "".join(f"<li><b>{v}</b>{h(label)}</li>" for v, label in items)


def _origin(report: Report) -> str:
    paths = " ".join(f"<code>{h(p)}</code>" for p in report.workspace) or "(not named)"
    commit = f" at commit <code>{h(report.commit)}</code>" if report.commit else ""
    return f"Workspace: {paths}{commit}"


def render_html(report: Report, by: By | None = None) -> str:
    """The page; `by` opens it grouped by principal, person or object (else one list)."""
    view = by if by in VIEWS else "all"
    rows = list(report.rows)
    if by is not None:
        # Stable: the report's order within a group; the script groups the same way.
        rows.sort(key=lambda r: group_key(r, by).lower())
    marks = [r.marks(report.at_time) for r in rows]
    data = {
        "columns": [*COLUMNS, "flags"],
        "view": view,
        "rows": [
            [*(getattr(r, c) for c in COLUMNS), " ".join(m)]
            for r, m in zip(rows, marks, strict=True)
        ],
    }
    head = "".join(
        f'<th scope="col" data-key="{key}"><button type="button">{label}</button></th>'
        for label, key in HEAD
    )
    tabs = "".join(
        f'<button type="button" role="tab" data-view="{v}" aria-selected="{str(v == view).lower()}"'
        f">{'All grants' if v == 'all' else 'By ' + v}</button>"
        for v in VIEWS
    )
    parts = []
    keys = [group_key(r, by) for r in rows] if by is not None else []
    sizes = Counter(keys)
    for i, (row, m) in enumerate(zip(rows, marks, strict=True)):
        if by is not None and (i == 0 or keys[i] != keys[i - 1]):
            parts.append(_group(group_label(row, by), sizes[keys[i]]))
        parts.append(_row(row, m))
    body = "\n".join(parts)
    roles = ""
    if report.roles:
        roles = (
            '<h2 id="roles-title">Roles</h2>'
            '<table id="roles" aria-labelledby="roles-title"><thead><tr>'
            '<th scope="col">Marks</th><th scope="col">Role</th><th scope="col">Provider</th>'
            '<th scope="col">Kind</th><th scope="col">Scope</th>'
            '<th scope="col">Privileged permissions</th><th scope="col">Permissions</th>'
            '<th scope="col">Status</th><th scope="col">Source</th></tr></thead><tbody>\n'
            + "\n".join(_role(r) for r in report.roles)
            + "\n</tbody></table>"
        )
    return f"""<!DOCTYPE html>
<html lang="en" class="no-js">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Access report at {h(report.at)}</title>
<style>{CSS}</style>
</head>
<body>
<h1>Access report</h1>
<p class="meta" id="origin">{_origin(report)}</p>
<p class="meta">Who can reach what at {h(report.at)}; generated {h(report.generated_at)}.
Marks: \u2691 privileged, \u25f7 expiring within 14 days, \u26a0 drift (live-only or expired).</p>
<ul class="counts" id="summary">{_summary(report)}</ul>
<div class="controls js-only">
<label for="filter">Filter</label>
<input type="search" id="filter" autocomplete="off" spellcheck="false"
 placeholder="names, addresses, statuses; also privileged, expiring, drift">
<div role="tablist" aria-label="View">{tabs}</div>
<span id="shown" aria-live="polite"></span>
</div>
<table id="rows" aria-label="Grants"><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table>
{roles}
<script type="application/json" id="access-data">{script_json(data)}</script>
<script>{JS}</script>
</body>
</html>
"""
