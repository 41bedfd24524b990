"""The fixed parts of the HTML leaderboard (:mod:`ser_bench.reporting.html`): its style sheet, its
script (sorting, filtering, the URL fragment) and the page template."""

STYLE = """
:root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg-alt: #f6f8fa; --best: #1a7f37; --worse: #cf222e;
        --plain: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); margin: 0 auto; padding: 24px 28px 40px; max-width: 1240px; }
h1 { font-size: 24px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 28px 0 8px; }
p.intro { color: var(--muted); max-width: 980px; margin: 0 0 12px; }
details { margin: 8px 0 16px; } summary { cursor: pointer; font-weight: 600; }
details ul { margin: 6px 0 0; padding-left: 20px; color: var(--muted); font-size: 12.5px; }
details li { margin: 2px 0; word-break: break-word; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--bg-alt);
       padding: 0 3px; border-radius: 3px; }
.controls { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin: 12px 0 4px;
            position: sticky; top: 0; background: #fff; padding: 8px 0; z-index: 2; }
.controls input[type=search] { width: 320px; padding: 6px 9px; border: 1px solid var(--line); border-radius: 6px; }
.controls select { padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
table.board { border-collapse: collapse; width: 100%; margin: 8px 0 20px; font-variant-numeric: tabular-nums; }
table.board caption { text-align: left; font-weight: 600; padding: 6px 0; caption-side: top; }
table.board caption .count, table.board caption .scale { font-weight: 400; color: var(--muted); font-size: 12px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
th { background: var(--bg-alt); font-weight: 600; cursor: pointer; user-select: none; white-space: nowrap; }
th:hover { background: #eaeef2; }
th[aria-sort=ascending]::after { content: " ▲"; font-size: 10px; }
th[aria-sort=descending]::after { content: " ▼"; font-size: 10px; }
tbody tr:nth-child(even) { background: #fbfcfd; } tbody tr:hover { background: #f0f6ff; }
td.c-uar, td.c-n, td.c-p_holm, td.c-k, td.c-frozen, td.c-tuned { white-space: nowrap; }
td.c-uar, td.c-k, td.c-frozen { text-align: right; }
td.c-method { font-weight: 500; } tr.best td.c-method { color: var(--best); }
.uar { font-weight: 600; } .pm { color: var(--muted); font-size: 12px; }
.muted { color: var(--muted); } .mark.best { color: var(--best); font-weight: 600; }
.mark.worse { color: var(--worse); font-weight: 700; }
svg.bar { display: block; } svg.bar .axis { stroke: var(--line); stroke-width: 1; }
svg.bar .chance { stroke: var(--muted); stroke-dasharray: 2 2; stroke-width: 1; }
svg.bar rect.ci { fill-opacity: .28; } svg.bar .plain { fill: var(--plain); }
svg.bar .best { fill: var(--best); } svg.bar .worse { fill: var(--worse); }
p.legend { font-size: 12.5px; color: var(--muted); margin: 4px 0; }
section.measures table { border-collapse: collapse; margin: 8px 0 20px; font-variant-numeric: tabular-nums; }
section.measures th { cursor: default; } section.measures p { max-width: 80em; }
figure { margin: 16px 0 24px; } figure img { max-width: min(100%, 980px); height: auto; border: 1px solid var(--line);
         border-radius: 6px; background: #fff; }
figcaption { margin-bottom: 6px; } p.note { font-size: 12.5px; color: var(--muted); max-width: 980px; }
footer { margin-top: 32px; border-top: 1px solid var(--line); padding-top: 10px; font-size: 12px;
         color: var(--muted); } footer p { margin: 3px 0; word-break: break-word; }
tr[hidden] { display: none; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var tables = Array.prototype.slice.call(document.querySelectorAll("table.board"));
  function key(td) { return td.getAttribute("data-sort"); }
  function sortTable(table, column, dir) {
    var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = ths.findIndex(function (th) { return th.getAttribute("data-key") === column; });
    if (index < 0) { return false; }
    var numeric = ths[index].getAttribute("data-type") === "num";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = dir === "desc" ? -1 : 1;
    rows.sort(function (a, b) {
      var x = key(a.cells[index]), y = key(b.cells[index]);
      if (x === "" || y === "") { return (x === "") - (y === ""); }  // missing values always last
      if (numeric) { return sign * (parseFloat(x) - parseFloat(y)); }
      return sign * x.localeCompare(y, undefined, { numeric: true, sensitivity: "base" });
    });
    rows.forEach(function (row) { body.appendChild(row); });
    ths.forEach(function (th) { th.removeAttribute("aria-sort"); });
    ths[index].setAttribute("aria-sort", dir === "desc" ? "descending" : "ascending");
    table.setAttribute("data-sorted", column + ":" + dir);
    return true;
  }
  var search = document.getElementById("filter");
  var protocol = document.getElementById("protocol");
  function applyFilter() {
    var terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = protocol.value;
    tables.forEach(function (table) {
      var shown = 0, rows = table.tBodies[0].rows;
      for (var i = 0; i < rows.length; i++) {
        var text = rows[i].textContent.toLowerCase();
        var keep = (!wanted || rows[i].getAttribute("data-protocol") === wanted) &&
          terms.every(function (t) { return text.indexOf(t) >= 0; });
        rows[i].hidden = !keep;
        if (keep) { shown++; }
      }
      var count = table.querySelector(".count");
      var total = count.getAttribute("data-total");
      count.textContent = shown === +total ? total + " rows" : shown + " of " + total + " rows";
    });
  }
  tables.forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      function click() {
        var column = th.getAttribute("data-key");
        var dir = table.getAttribute("data-sorted") === column + ":asc" ? "desc" : "asc";
        sortTable(table, column, dir);
      }
      th.addEventListener("click", click);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); click(); } });
    });
  });
  search.addEventListener("input", applyFilter);
  protocol.addEventListener("change", applyFilter);
  // A view in the URL fragment: #sort=uar:asc&q=bce&protocol=fewshot
  var params = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (part) {
    var eq = part.indexOf("=");
    if (eq > 0) { params[decodeURIComponent(part.slice(0, eq))] = decodeURIComponent(part.slice(eq + 1)); }
  });
  if (params.sort) {
    var spec = params.sort.split(":");
    tables.forEach(function (table) { sortTable(table, spec[0], spec[1] === "desc" ? "desc" : "asc"); });
  }
  if (params.q) { search.value = params.q; }
  if (params.open && document.getElementById(params.open)) { document.getElementById(params.open).open = true; }
  if (params.protocol) { protocol.value = params.protocol; }
  applyFilter();
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="intro">{intro}</p>
<details open><summary>Settings every number depends on</summary><ul>{settings}</ul></details>
</header>
<main>
<div class="controls">
<input id="filter" type="search" placeholder="Filter rows (method, protocol, pair …)" aria-label="filter rows">
<label>protocol <select id="protocol"><option value="">all</option>{options}</select></label>
</div>
{legend}
{tables}
{figures}
</main>
<footer>{footer}</footer>
<script>{script}</script>
</body>
</html>
"""
