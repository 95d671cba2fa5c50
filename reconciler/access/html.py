"""The access report as one self-contained HTML page that makes no network request.

- No URL at all: CSS and JS inline, no font, image or icon (the icon is an empty `data:`),
  and a Content-Security-Policy of `default-src 'none'` that admits only this page's own
  style and script, by hash, so nothing a value smuggles in could load or run.
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

import base64
import hashlib
import html
import json
from collections import Counter
from typing import Any

from reconciler.access.model import COLUMNS, By, Report, RoleRow, Row, group_key
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

CSS = """
:root{color-scheme:light;--line:#d0d7de;--muted:#57606a;--priv:#8250df;--exp:#9a6700;
--drift:#cf222e}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1f2328}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.meta{color:var(--muted);margin:0 0 1rem}
.counts{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0;margin:0 0 1rem}
.counts li{border:1px solid var(--line);border-radius:6px;padding:.35rem .7rem}
.counts b{font-size:1.1rem;margin-right:.3rem}
.no-js .js-only{display:none}
.controls{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin:0 0 .75rem}
#filter{font:inherit;padding:.35rem .5rem;min-width:22rem;border:1px solid var(--line);
border-radius:6px}
[role=tablist] button{font:inherit;padding:.3rem .7rem;border:1px solid var(--line);
background:#f6f8fa;cursor:pointer}
[role=tablist] button[aria-selected=true]{background:#fff;border-bottom-color:#fff;
font-weight:600}
#shown{color:var(--muted)}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:.3rem .45rem;text-align:left;
vertical-align:top}
td{overflow-wrap:break-word}
#rows{table-layout:fixed}
#rows thead th:nth-child(1){width:8%}#rows thead th:nth-child(2){width:12%}
#rows thead th:nth-child(3){width:7%}#rows thead th:nth-child(4){width:7%}
#rows thead th:nth-child(5){width:9%}#rows thead th:nth-child(6){width:14%}
#rows thead th:nth-child(7){width:6%}#rows thead th:nth-child(8){width:14%}
#rows thead th:nth-child(9){width:8%}#rows thead th:nth-child(10){width:7%}
#rows thead th:nth-child(11){width:8%}
@media (max-width:900px){#rows{table-layout:auto}}
thead th{position:sticky;top:0;background:#f6f8fa;font-size:.9em}
th button{all:inherit;display:inline;width:auto;cursor:pointer}
.js th button::after{content:" \\2195";color:var(--muted)}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
td small,td code{overflow-wrap:anywhere}td small{color:var(--muted)}
code{color:var(--muted)}
tr.group th{background:#eaeef2;font-weight:600}
tr.priv td:first-child{border-left:4px solid var(--priv)}
tr.drift{background:#ffebe9}
tr.expiring td.expires{font-weight:600}
.mark{display:inline-block;white-space:nowrap;font-size:.8rem;border-radius:4px;
padding:0 .3rem;margin:0 .2rem .1rem 0;border:1px solid}
.m-priv{color:var(--priv)}.m-exp{color:var(--exp)}.m-drift{color:var(--drift)}
.st,td.expires{white-space:nowrap}
""".strip()

JS = r"""
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");
  var data = JSON.parse(document.getElementById("access-data").textContent);
  var col = {};
  data.columns.forEach(function (name, i) { col[name] = i; });
  var table = document.getElementById("rows");
  var tbody = table.tBodies[0];
  var values = data.rows, n = values.length;
  var ncols = table.tHead.rows[0].cells.length;
  var text = new Array(n), shown = new Array(n), trs = new Array(n), groups = [];
  for (var i = 0; i < n; i++) {
    text[i] = values[i].join("\u0001").toLowerCase();
    shown[i] = true;
  }
  var state = {view: data.view, sort: null, dir: 1};

  // The rows of the table body in `order`; group rows (class group) head their members.
  function adopt(order) {
    var rows = tbody.rows, k = 0, cur = null;
    groups = [];
    for (var r = 0; r < rows.length; r++) {
      var tr = rows[r];
      if (tr.className === "group") {
        cur = {tr: tr, th: tr.cells[0], label: tr.cells[0].getAttribute("data-label"), members: []};
        groups.push(cur);
      } else {
        var i = order ? order[k] : k;
        k++;
        trs[i] = tr;
        if (cur) cur.members.push(i);
      }
    }
  }

  function key(i, name) {
    var v = values[i][col[name]];
    return v === null ? "" : typeof v === "string" ? v.toLowerCase() : String(v);
  }
  var GROUP = {person: "person", principal: "principal", object: "object"};
  function groupLabel(view, i) {
    var v = values[i];
    if (view === "person") return v[col.person] || "(no person)";
    if (view === "principal") return v[col.principal_label] + " <" + v[col.principal] + ">";
    return v[col.object_label] + " <" + v[col.object] + ">";
  }
  function esc(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }
  function counted(label, k) {
    return label + " \u2014 " + k + (k === 1 ? " grant" : " grants");
  }

  // Sorting or regrouping builds a new body from the rows' HTML in one go: moving
  // thousands of rows one by one costs far more than parsing them again.
  var html = null;
  function layout() {
    if (html === null) {
      html = trs.map(function (tr) {
        var h = tr.outerHTML, end = h.indexOf(">");
        return [h.slice(0, end).replace(' hidden=""', ""), h.slice(end)];
      });
    }
    var order = [];
    for (var i = 0; i < n; i++) order.push(i);
    var g = GROUP[state.view], s = state.sort, d = state.dir;
    var gk = g ? order.map(function (i) { return key(i, g); }) : null;
    var sk = s ? order.map(function (i) { return key(i, s); }) : null;
    order.sort(function (a, b) {
      if (gk && gk[a] !== gk[b]) return gk[a] < gk[b] ? -1 : 1;
      if (sk && sk[a] !== sk[b]) return (sk[a] < sk[b] ? -1 : 1) * d;
      return a - b;
    });
    var parts = [];
    for (var k = 0; k < n; k++) {
      var j = order[k];
      if (gk && (k === 0 || gk[j] !== gk[order[k - 1]])) {
        var label = esc(groupLabel(state.view, j));
        parts.push('<tr class="group"><th scope="colgroup" colspan="' + ncols +
          '" data-label="' + label + '">' + label + "</th></tr>");
      }
      parts.push(html[j][0] + (shown[j] ? "" : " hidden") + html[j][1]);
    }
    var body = document.createElement("tbody");
    body.innerHTML = parts.join("");
    table.replaceChild(body, tbody);
    tbody = body;
    adopt(order);
    count();
  }

  function count() {
    var visible = 0;
    for (var i = 0; i < n; i++) if (shown[i]) visible++;
    groups.forEach(function (grp) {
      var k = 0;
      grp.members.forEach(function (i) { if (shown[i]) k++; });
      if (grp.tr.hidden !== (k === 0)) grp.tr.hidden = k === 0;
      var t = counted(grp.label, k);
      if (grp.th.textContent !== t) grp.th.textContent = t;
    });
    document.getElementById("shown").textContent =
      "Showing " + visible + " of " + n + (n === 1 ? " grant" : " grants");
  }

  // Filtering toggles `hidden` only on the rows whose match changed.
  var filter = document.getElementById("filter");
  function applyFilter() {
    var terms = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (var i = 0; i < n; i++) {
      var t = text[i], ok = true;
      for (var j = 0; j < terms.length && ok; j++) ok = t.indexOf(terms[j]) !== -1;
      if (ok !== shown[i]) {
        shown[i] = ok;
        trs[i].hidden = !ok;
      }
    }
    count();
  }
  var timer = 0;
  filter.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(applyFilter, 120);
  });

  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th) {
    th.querySelector("button").addEventListener("click", function () {
      var name = th.getAttribute("data-key");
      state.dir = state.sort === name ? -state.dir : 1;
      state.sort = name;
      Array.prototype.forEach.call(heads, function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", state.dir === 1 ? "ascending" : "descending");
      layout();
    });
  });

  var tabs = document.querySelectorAll("[role=tab]");
  Array.prototype.forEach.call(tabs, function (tab) {
    tab.addEventListener("click", function () {
      var view = tab.getAttribute("data-view");
      if (view === state.view) return;
      state.view = view;
      Array.prototype.forEach.call(tabs, function (other) {
        other.setAttribute("aria-selected", other === tab ? "true" : "false");
      });
      layout();
    });
  });

  adopt(null);
  if (filter.value) applyFilter(); else count();
  root.setAttribute("data-ready", "true");
})();
""".strip()


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


CSP = (
    "default-src 'none'; "
    f"style-src {_sha256(CSS)}; script-src {_sha256(JS)}; "
    "img-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)
"""Nothing loads over a network; only the page's own style and script apply (by hash);
the one image is the empty `data:` icon, which keeps a browser from asking for /favicon.ico."""


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
