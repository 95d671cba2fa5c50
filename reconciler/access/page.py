"""The report page's own style and script, and the Content-Security-Policy that admits
only them (by hash): the page template's assets, apart from the code that fills it."""

from __future__ import annotations

import base64
import hashlib

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
