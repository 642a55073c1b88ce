import AIDE

// The pages of `aide serve` other than a run's (which is `aide report --format html`'s page with
// `liveScript` added). Everything is inline: no file, CDN or font is fetched. Every text from a run
// reaches the page through `textContent`, never as markup.

enum DashboardPages {
    static func page(title: String, body: String, script: String) -> String {
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" + title
            + "</title>\n<style>\n" + HTMLReport.styleSheet + extraCSS + "</style>\n</head>\n<body>\n" + body
            + "\n<script>\n" + common + script + "</script>\n</body>\n</html>\n"
    }

    static let extraCSS = #"""
table.list { width: 100%; border-collapse: collapse; font-size: 13px; }
table.list th, table.list td { text-align: left; padding: 6px 12px; border-top: 1px solid var(--line); white-space: nowrap; }
table.list th { color: var(--muted); font-weight: 500; border-top: none; cursor: pointer; user-select: none; }
table.list th.sorted::after { content: " \25BE"; }
table.list th.sorted.up::after { content: " \25B4"; }
table.list td.num, table.list th.num { text-align: right; }
table.list a { color: var(--accent); text-decoration: none; }
table.list a:hover { text-decoration: underline; }
.badge.live { background: #e6effd; color: #2453a8; }
.badge.stopped, .badge.interrupted { background: #fff3cc; color: #8a6400; }
.badge.pending { background: #eef0f3; color: #667085; }
nav.top { font-size: 12.5px; margin-bottom: 4px; }
nav.top a { color: var(--accent); text-decoration: none; }
.error-text { color: #a8302c; }
"""#

    /// Helpers every page shares.
    static let common = #"""
"use strict";
window.onerror = function (message, source, line) {
  document.body.dataset.error = String(message) + (line ? " (line " + line + ")" : "");
};
"""# + "\n" + HTMLReport.scriptHelpers + "\n" + #"""
function usd(v) { return v === null || v === undefined ? "–" : "$" + (v >= 100 ? v.toFixed(2) : v.toFixed(4)); }
function ago(iso) {
  if (!iso) return "–";
  var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return Math.round(s) + "s ago";
  if (s < 5400) return Math.round(s / 60) + "m ago";
  if (s < 129600) return Math.round(s / 3600) + "h ago";
  return Math.round(s / 86400) + "d ago";
}
function path(key) { return key.split("/").map(encodeURIComponent).join("/"); }
function getJSON(url, done, failed) {
  var request = new XMLHttpRequest();
  request.open("GET", url);
  request.onload = function () {
    if (request.status === 200) done(JSON.parse(request.responseText));
    else if (failed) failed(request.responseText || String(request.status));
  };
  request.onerror = function () { if (failed) failed("the server does not answer"); };
  request.send();
}
// A sortable table: columns [{name, key (row => value), cell (row => Node|string), num}]; the order
// chosen survives every redraw.
function Table(box, columns, sortIndex, descending) {
  this.box = box; this.columns = columns; this.sortIndex = sortIndex; this.descending = descending; this.rows = [];
}
Table.prototype.draw = function (rows) {
  var self = this, table = el("table", "list"), head = el("tr"), c = this.columns[this.sortIndex];
  this.rows = rows;
  this.columns.forEach(function (column, index) {
    var th = el("th", (column.num ? "num" : "") + (index === self.sortIndex ? " sorted" + (self.descending ? "" : " up") : ""), column.name);
    th.addEventListener("click", function () {
      if (self.sortIndex === index) self.descending = !self.descending; else { self.sortIndex = index; self.descending = false; }
      self.draw(self.rows);
    });
    head.appendChild(th);
  });
  table.appendChild(head);
  var sorted = rows.slice().sort(function (a, b) {
    var x = c.key(a), y = c.key(b);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * (self.descending ? -1 : 1);
  });
  sorted.forEach(function (row) {
    var tr = el("tr");
    self.columns.forEach(function (column) {
      var td = el("td", column.num ? "num" : ""), v = column.cell(row);
      if (v instanceof Node) td.appendChild(v); else td.textContent = v === null || v === undefined ? "–" : String(v);
      tr.appendChild(td);
    });
    table.appendChild(tr);
  });
  this.box.innerHTML = "";
  this.box.appendChild(table);
};
function link(href, text) { var a = el("a", null, text); a.href = href; return a; }
function badge(state) { return el("span", "badge " + state, state); }
// Best-so-far step lines, several series on one chart: [{name, color, points: [[x, y]]}].
var COLORS = ["#2f6fde", "#e07b00", "#2f9e5f", "#d64541", "#7a4fd6", "#0f7dba", "#b45309", "#667085"];
function lineChart(box, series, empty) {
  series = series.filter(function (s) { return s.points.length; });
  if (!series.length) { box.innerHTML = ""; box.appendChild(el("div", "empty", empty)); return; }
  var W = Math.max(320, box.clientWidth - 4), H = 280, L = 64, R = 16, T = 40, B = 34, xs = [], ys = [];
  series.forEach(function (s) { s.points.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); });
  var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  function X(v) { return L + (v - x0) / (x1 - x0) * (W - L - R); }
  function Y(v) { return T + (1 - (v - y0) / (y1 - y0)) * (H - T - B); }
  var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H);
  function add(tag, attrs, text) {
    var e = document.createElementNS(ns, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
  }
  for (var i = 0; i <= 4; i++) {
    var v = y0 + (y1 - y0) * i / 4;
    add("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), "class": "grid" });
    add("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, num(v));
  }
  // Steps are whole: at most six ticks a whole number of steps apart, so a short run repeats none.
  var every = Math.max(1, Math.ceil((x1 - x0) / 5));
  for (var s = Math.ceil(x0); s <= x1; s += every) {
    add("text", { x: X(s), y: H - B + 16, "text-anchor": "middle", "class": "tick" }, String(s));
  }
  add("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, "step");
  var lx = L;
  series.forEach(function (q) {
    var d = "";
    q.points.forEach(function (p, j) { d += (j ? "H" + X(p[0]) + "V" : "M" + X(p[0]) + " ") + Y(p[1]); });
    add("path", { d: d, fill: "none", stroke: q.color, "stroke-width": 2 });
    // A run of one good step has no line to draw: a dot shows it.
    if (q.points.length === 1) add("circle", { cx: X(q.points[0][0]), cy: Y(q.points[0][1]), r: 4, fill: q.color });
    add("rect", { x: lx, y: 9, width: 14, height: 4, fill: q.color });
    add("text", { x: lx + 19, y: 15 }, q.name);
    lx += 30 + q.name.length * 6.4;
  });
  box.innerHTML = "";
  box.appendChild(svg);
}

"""#

    // MARK: - /

    static let index = page(title: "aide serve", body: #"""
<header><h1>Runs</h1><div class="sub" id="subtitle"></div></header>
<main>
<section><h2>Runs <span class="tools"><span class="legend" id="picked"></span><button id="compare" disabled>Compare selected</button></span></h2><div id="runs"><div class="empty">Loading…</div></div></section>
<section id="benches-section"><h2>Benches</h2><div id="benches"><div class="empty">Loading…</div></div></section>
</main>
"""#, script: #"""
var picked = {};
function pickBox(row) {
  var box = el("input"); box.type = "checkbox"; box.checked = !!picked[row.key]; box.disabled = !!row.error;
  box.addEventListener("change", function () {
    if (box.checked) picked[row.key] = 1; else delete picked[row.key];
    var n = Object.keys(picked).length;
    $("compare").disabled = n < 2;
    $("picked").textContent = n ? n + " selected" : "";
  });
  return box;
}
$("compare").addEventListener("click", function () {
  location.href = "/compare?" + Object.keys(picked).map(function (k) { return "run=" + encodeURIComponent(k); }).join("&");
});
var runs = new Table($("runs"), [
  { name: "", key: function (r) { return picked[r.key] ? 0 : 1; }, cell: pickBox },
  { name: "run", key: function (r) { return r.id; }, cell: function (r) { return r.error ? r.id : link("/runs/" + path(r.key), r.id); } },
  { name: "task", key: function (r) { return r.task; }, cell: function (r) { return r.task; } },
  { name: "status", key: function (r) { return r.state; }, cell: function (r) {
      return r.error ? el("span", "error-text", r.error) : badge(r.state); } },
  { name: "steps", num: true, key: function (r) { return r.steps; }, cell: function (r) { return r.steps; } },
  { name: "best metric", num: true, key: function (r) { return r.best_metric; }, cell: function (r) { return num(r.best_metric); } },
  { name: "test score", num: true, key: function (r) { return r.best_test_score; }, cell: function (r) { return num(r.best_test_score); } },
  { name: "USD", num: true, key: function (r) { return r.cost_usd; }, cell: function (r) { return usd(r.cost_usd); } },
  { name: "started", key: function (r) { return r.started_at; }, cell: function (r) { return r.started_at ? r.started_at.replace("T", " ").replace("Z", " UTC") : "–"; } },
  { name: "last write", key: function (r) { return r.updated_at; }, cell: function (r) { return ago(r.updated_at); } }
], 8, true);
var benches = new Table($("benches"), [
  { name: "bench", key: function (b) { return b.name; }, cell: function (b) { return b.error ? b.key : link("/benches/" + path(b.key), b.name); } },
  { name: "status", key: function (b) { return b.status; }, cell: function (b) { return b.error ? el("span", "error-text", b.error) : badge(b.status); } },
  { name: "cases", num: true, key: function (b) { return b.cases; }, cell: function (b) { return b.cases; } },
  { name: "finished", num: true, key: function (b) { return b.counts.finished || 0; }, cell: function (b) { return b.counts.finished || 0; } },
  { name: "failed", num: true, key: function (b) { return b.counts.failed || 0; }, cell: function (b) { return b.counts.failed || 0; } },
  { name: "running", num: true, key: function (b) { return b.counts.running || 0; }, cell: function (b) { return b.counts.running || 0; } },
  { name: "pending", num: true, key: function (b) { return b.counts.pending || 0; }, cell: function (b) { return b.counts.pending || 0; } },
  { name: "last write", key: function (b) { return b.updated_at; }, cell: function (b) { return ago(b.updated_at); } }
], 0, false);
function refresh() {
  getJSON("/api/runs", function (listing) {
    $("subtitle").textContent = listing.runs.length + " run" + (listing.runs.length === 1 ? "" : "s") + ", " +
      listing.benches.length + " bench" + (listing.benches.length === 1 ? "" : "es") + " · updated every 2 s";
    if (listing.runs.length) runs.draw(listing.runs); else $("runs").innerHTML = "<div class=\"empty\">No runs in this folder yet.</div>";
    $("benches-section").style.display = listing.benches.length ? "" : "none";
    if (listing.benches.length) benches.draw(listing.benches);
    document.body.dataset.runs = String(listing.runs.length);
  }, function (message) { $("subtitle").textContent = "cannot list the runs: " + message; });
}
refresh();
setInterval(refresh, 2000);
"""#)

    // MARK: - /compare

    static let compare = page(title: "aide serve · compare", body: #"""
<header><nav class="top"><a href="/">all runs</a></nav><h1>Compare runs</h1><div class="sub" id="subtitle"></div></header>
<main>
<section><h2>Side by side</h2><div id="table"><div class="empty">Loading…</div></div></section>
<section><h2>Best metric by step</h2><div class="chart" id="chart"></div></section>
</main>
"""#, script: #"""
var keys = new URLSearchParams(location.search).getAll("run");
var table = new Table($("table"), [
  { name: "run", key: function (r) { return r.id; }, cell: function (r) { return link("/runs/" + path(r.key), r.id); } },
  { name: "task", key: function (r) { return r.task; }, cell: function (r) { return r.task; } },
  { name: "status", key: function (r) { return r.status; }, cell: function (r) { return badge(r.status); } },
  { name: "best metric", num: true, key: function (r) { return r.best_metric; }, cell: function (r) {
      return num(r.best_metric) + (r.direction === "minimize" ? " ↓" : " ↑") + (r.best ? " ★" : ""); } },
  { name: "test score", num: true, key: function (r) { return r.best_test_score; }, cell: function (r) { return num(r.best_test_score); } },
  { name: "steps", num: true, key: function (r) { return r.steps; }, cell: function (r) { return r.steps; } },
  { name: "steps to best", num: true, key: function (r) { return r.steps_to_best; }, cell: function (r) { return r.steps_to_best; } },
  { name: "tokens", num: true, key: function (r) { return r.input_tokens + r.output_tokens; }, cell: function (r) { return r.input_tokens + r.output_tokens; } },
  { name: "USD", num: true, key: function (r) { return r.cost_usd; }, cell: function (r) { return usd(r.cost_usd); } },
  { name: "wall", num: true, key: function (r) { return r.time.wall; }, cell: function (r) { return r.time.wall.toFixed(1) + "s"; } }
], 0, false);
function refresh() {
  var query = keys.map(function (k) { return "run=" + encodeURIComponent(k); }).join("&");
  getJSON("/api/compare?" + query, function (data) {
    var rows = data.comparison.runs.map(function (r, i) {
      r.key = keys[i]; r.best = data.comparison.best_run === r.id; return r;
    });
    $("subtitle").textContent = rows.length + " runs" + (data.comparison.best_run ? " · best: " + data.comparison.best_run : "");
    table.draw(rows);
    lineChart($("chart"), data.curves.map(function (c, i) {
      return { name: c.id, color: COLORS[i % COLORS.length], points: c.points };
    }), "No run has a good node yet.");
    document.body.dataset.runs = String(rows.length);
  }, function (message) { $("subtitle").textContent = message; });
}
refresh();
setInterval(refresh, 3000);
"""#)

    // MARK: - /benches/<bench>

    static let bench = page(title: "aide serve · bench", body: #"""
<header><nav class="top"><a href="/">all runs</a></nav><h1 id="title">Bench</h1><div class="sub" id="subtitle"></div></header>
<main>
<section><h2>Summary</h2><div id="tasks"><div class="empty">Loading…</div></div></section>
<section><h2>Cases</h2><div id="cases"></div></section>
</main>
"""#, script: #"""
var key = decodeURIComponent(location.pathname.replace(/^\/benches\//, ""));
function meanSE(s) { return s.mean === null ? "–" : num(s.mean) + (s.stderr === null ? "" : " ± " + num(s.stderr)); }
var tasks = new Table($("tasks"), [
  { name: "task", key: function (t) { return t.task; }, cell: function (t) { return t.task; } },
  { name: "runs", num: true, key: function (t) { return t.completed; }, cell: function (t) { return t.completed + "/" + t.cases; } },
  { name: "valid", num: true, key: function (t) { return t.valid_submission_rate; }, cell: function (t) {
      return t.valid_submission_rate === null ? "–" : Math.round(t.valid_submission_rate * 100) + "%"; } },
  { name: "test score (mean ± SE)", num: true, key: function (t) { return t.test_score.mean; }, cell: function (t) { return meanSE(t.test_score); } },
  { name: "agent's metric (mean ± SE)", num: true, key: function (t) { return t.metric.mean; }, cell: function (t) {
      return meanSE(t.metric) + (t.direction === "minimize" ? " ↓" : " ↑"); } },
  { name: "steps to best", num: true, key: function (t) { return t.steps_to_best.mean; }, cell: function (t) { return num(t.steps_to_best.mean); } },
  { name: "time to best", num: true, key: function (t) { return t.seconds_to_best.mean; }, cell: function (t) {
      return t.seconds_to_best.mean === null ? "–" : t.seconds_to_best.mean.toFixed(1) + "s"; } },
  { name: "tokens / run", num: true, key: function (t) { return t.tokens.mean; }, cell: function (t) { return num(t.tokens.mean); } },
  { name: "USD / run", num: true, key: function (t) { return t.cost_usd.mean; }, cell: function (t) { return usd(t.cost_usd.mean); } }
], 0, false);
var cases = new Table($("cases"), [
  { name: "#", num: true, key: function (c) { return c.index; }, cell: function (c) { return c.index; } },
  { name: "task", key: function (c) { return c.task; }, cell: function (c) { return c.task; } },
  { name: "seed", num: true, key: function (c) { return c.seed; }, cell: function (c) { return c.seed; } },
  { name: "case", key: function (c) { return c.status; }, cell: function (c) { return badge(c.status); } },
  { name: "run", key: function (c) { return c.run_id; }, cell: function (c) {
      return c.run_folder ? link("/runs/" + path(key + "/" + c.run_folder), c.run_id || c.run_folder) : "–"; } },
  { name: "steps", num: true, key: function (c) { return c.steps; }, cell: function (c) { return c.steps; } },
  { name: "best metric", num: true, key: function (c) { return c.best_metric; }, cell: function (c) { return num(c.best_metric); } },
  { name: "test score", num: true, key: function (c) { return c.best_test_score; }, cell: function (c) { return num(c.best_test_score); } },
  { name: "USD", num: true, key: function (c) { return c.cost_usd; }, cell: function (c) { return usd(c.cost_usd); } },
  { name: "message", key: function (c) { return c.message; }, cell: function (c) { return c.message; } }
], 0, false);
function refresh() {
  getJSON("/api/benches/" + path(key), function (s) {
    $("title").textContent = "Bench " + s.bench.name;
    $("title").appendChild(badge(s.bench.status));
    var t = s.totals;
    $("subtitle").textContent = t.cases + " runs: " + t.finished + " finished, " + t.failed + " failed" +
      (t.incomplete ? ", " + t.incomplete + " not done" : "") + "; " + t.valid_submissions + " valid submissions; " +
      (t.input_tokens + t.output_tokens) + " tokens, " + usd(t.cost_usd) + " · updated every 2 s";
    tasks.draw(s.tasks);
    cases.draw(s.cases);
    document.body.dataset.cases = String(s.cases.length);
    document.body.dataset.done = String(t.completed);
  }, function (message) { $("subtitle").textContent = message; });
}
refresh();
setInterval(refresh, 2000);
"""#)

    // MARK: - A run's page

    /// Added to the viewer of `aide report --format html`: follows the run's event stream, hands
    /// new nodes to `window.aideViewer.update`, and keeps a status line under the title.
    static let liveScript = #"""
(function () {
"use strict";
var key = location.pathname.replace(/^\/runs\//, ""), viewer = window.aideViewer, status = null, skew = 0, source = null;
var header = document.querySelector("header");
var nav = document.createElement("nav"); nav.className = "top";
var home = document.createElement("a"); home.href = "/"; home.textContent = "all runs"; nav.appendChild(home);
header.insertBefore(nav, header.firstChild);
var line = document.createElement("div"); line.className = "sub"; line.id = "live"; header.appendChild(line);
function seconds(s) { return s < 90 ? Math.round(s) + "s" : s < 5400 ? Math.round(s / 60) + "m" : Math.round(s / 3600) + "h"; }
function show() {
  if (!status) return;
  var age = status.updated_at ? Math.max(0, (Date.now() - skew - Date.parse(status.updated_at)) / 1000) : 0, n = viewer.count();
  var text = status.state === "live" ? "● live · " + n + " nodes · up to " + status.workers + " step" + (status.workers === 1 ? "" : "s") +
      " in flight · last write " + seconds(age) + " ago"
    : status.state === "stopped" ? "stopped without a word: still marked running, nothing written for " + seconds(age) + " · " + n + " nodes"
    : (status.state || "unknown") + " · " + n + " nodes";
  line.textContent = text;
  line.dataset.state = status.state || "";
  var badge = document.querySelector("#title .badge");
  if (badge && status.state) { badge.textContent = status.state; badge.className = "badge " + status.state; }
}
function connect() {
  source = new EventSource("/api/runs/" + key + "/events?after=" + viewer.count());
  source.addEventListener("status", function (e) {
    status = JSON.parse(e.data); skew = Date.now() - Date.parse(status.now); show();
  });
  source.addEventListener("nodes", function (e) { viewer.update(JSON.parse(e.data)); show(); });
  source.onerror = function () {
    source.close();
    line.textContent = "the server does not answer; trying again…";
    setTimeout(connect, 2000);
  };
}
connect();
setInterval(show, 1000);
})();
"""#
}
