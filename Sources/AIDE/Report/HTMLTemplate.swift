// The CSS, markup and JS of the HTML report (see HTMLReport.swift). Raw string
// literals: backslashes are the JS's own. Nothing here loads anything from the network.

enum HTMLTemplate {
    static let css = #"""
:root {
  --bg: #f6f7f9; --panel: #ffffff; --ink: #1d2430; --muted: #667085; --line: #e3e6eb;
  --good: #2f9e5f; --buggy: #d64541; --best: #e0a100; --accent: #2f6fde; --code: #f7f8fa;
}
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body { background: var(--bg); color: var(--ink); font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { padding: 16px 24px 8px; }
header h1 { margin: 0; font-size: 20px; font-weight: 650; }
header .sub { color: var(--muted); font-size: 12.5px; margin-top: 2px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; vertical-align: 2px; margin-left: 8px; background: #e8ecf3; color: #344054; }
.badge.finished, .badge.good { background: #e3f4ea; color: #1f7a45; }
.badge.failed, .badge.buggy { background: #fbe5e4; color: #a8302c; }
.badge.running { background: #e6effd; color: #2453a8; }
.badge.best { background: #fff3cc; color: #8a6400; }
main { padding: 8px 24px 24px; }
.cards { display: grid; grid-template-columns: repeat(7, minmax(0, 1fr)); gap: 10px; }
@media (max-width: 1200px) { .cards { grid-template-columns: repeat(4, minmax(0, 1fr)); } }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 9px 12px; min-width: 0; }
.card .k { color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card .v { font-size: 17px; font-weight: 600; margin-top: 1px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card .s { color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; margin-top: 14px; min-width: 0; }
section > h2 { margin: 0; font-size: 14px; font-weight: 650; padding: 9px 14px; border-bottom: 1px solid var(--line); display: flex; align-items: center; gap: 12px; }
section > h2 .tools { margin-left: auto; display: flex; gap: 6px; align-items: center; font-weight: 400; }
button { font: inherit; font-size: 12px; border: 1px solid var(--line); background: #fff; border-radius: 5px; padding: 2px 9px; cursor: pointer; color: var(--ink); }
button:hover { background: #f0f3f8; }
.split { display: grid; grid-template-columns: minmax(0, 11fr) minmax(0, 9fr); gap: 14px; }
.split > section { margin-top: 14px; }
#tree-pane { overflow: auto; height: 68vh; min-height: 320px; }
#tree-pane svg { display: block; margin: 0 auto; }
#detail { overflow: auto; height: 68vh; min-height: 320px; padding: 12px 16px; }
.legend { display: flex; gap: 12px; flex-wrap: wrap; font-size: 12px; color: var(--muted); font-weight: 400; align-items: center; }
.legend svg { vertical-align: -3px; margin-right: 3px; }
.node { cursor: pointer; }
.node .shape { stroke: #ffffff; stroke-width: 1.5; }
.node.good .shape { fill: var(--good); }
.node.buggy .shape { fill: var(--buggy); }
.node.path .shape { stroke: var(--best); stroke-width: 3; }
.node.best .shape { stroke: var(--best); stroke-width: 4; }
.node.sel .shape { stroke: var(--accent); stroke-width: 4; }
.node:hover .shape { filter: brightness(1.15); }
.node text { fill: #ffffff; font-size: 8.5px; font-weight: 700; text-anchor: middle; dominant-baseline: central; pointer-events: none; }
.edges { fill: none; stroke: #b8c0cc; stroke-width: 1.3; }
.edges.path { stroke: var(--best); stroke-width: 3.2; }
.charts { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 14px; }
.chart { padding: 6px 10px 4px; }
.chart svg text { font-size: 11px; fill: #667085; }
.chart .grid { stroke: #eef0f3; }
.chart .axis { stroke: #c5cbd3; }
.empty { color: var(--muted); padding: 24px; text-align: center; }
#detail h3 { margin: 0 0 6px; font-size: 16px; }
#detail h4 { margin: 16px 0 6px; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
#detail table { border-collapse: collapse; font-size: 13px; }
#detail td { padding: 2px 14px 2px 0; vertical-align: top; }
#detail td:first-child { color: var(--muted); white-space: nowrap; }
#detail a { color: var(--accent); cursor: pointer; text-decoration: none; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
#detail a:hover { text-decoration: underline; }
.plan { white-space: pre-wrap; margin: 0; }
pre.diff .add { color: #1a7f37; } pre.diff .del { color: #cf222e; } pre.diff .hunk { color: #8250df; }
pre { margin: 0; background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; overflow: auto; max-height: 460px; font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; tab-size: 4; }
pre.out { max-height: 300px; white-space: pre-wrap; word-break: break-word; }
#find { font: inherit; font-size: 12px; border: 1px solid var(--line); border-radius: 5px; padding: 2px 7px; }
.note { color: var(--muted); font-size: 12px; margin: 0 0 4px; }
.reasons { margin: 4px 0 0; padding-left: 18px; color: #a8302c; }
.tk-kw { color: #a626a4; font-weight: 600; }
.tk-str { color: #50a14f; }
.tk-com { color: #8a919c; font-style: italic; }
.tk-num { color: #c2620c; }
.tk-bi { color: #0f7dba; }
.tk-fn { color: #2f5fcf; font-weight: 600; }
.tk-dec { color: #b45309; }
.models { width: 100%; border-collapse: collapse; font-size: 12.5px; }
.models th, .models td { text-align: right; padding: 5px 14px; border-top: 1px solid var(--line); white-space: nowrap; }
.models th { color: var(--muted); font-weight: 500; border-top: none; }
.models th:first-child, .models td:first-child { text-align: left; }
@media (max-width: 1000px) { .split, .charts { grid-template-columns: minmax(0, 1fr); } }
"""#

    static let body = #"""
<header><h1 id="title"></h1><div class="sub" id="subtitle"></div></header>
<main>
<div class="cards" id="cards"></div>
<div class="split">
<section><h2>Tree <span class="legend" id="legend"></span><span class="tools"><input id="find" type="search" placeholder="find: id, step or stage" title="A node id (or its start), a step number, or a stage; Enter goes to the next match" size="22"><span id="find-count" class="legend"></span><button id="zoom-out" title="Zoom out">&minus;</button><button id="zoom-fit" title="Fit the width">fit</button><button id="zoom-in" title="Zoom in">+</button></span></h2><div id="tree-pane"></div></section>
<section><h2>Node</h2><div id="detail"><div class="empty">Click a node of the tree.</div></div></section>
</div>
<div class="charts">
<section><h2>Best metric and test score by step</h2><div class="chart" id="chart-metric"></div></section>
<section><h2>Tokens and cost by step (cumulative)</h2><div class="chart" id="chart-cost"></div></section>
</div>
<section id="models-section"><h2>Models</h2><div id="models"></div></section>
</main>

"""#

    /// The DOM and number helpers of the viewer's script, shared with `aide serve`'s other pages.
    static let domHelpers = #"""
function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function num(v) {
  if (v === null || v === undefined) return "–";
  if (v === 0) return "0";
  var a = Math.abs(v);
  if (a >= 1e5 || a < 1e-4) return v.toExponential(3).replace(/\.?0+e/, "e");
  return String(parseFloat(v.toPrecision(5)));
}
"""#

    static let script = #"""
(function () {
"use strict";
var body = document.body;
window.onerror = function (message, source, line) {
  body.dataset.error = String(message) + (line ? " (line " + line + ")" : "");
};

var DATA = JSON.parse(document.getElementById("aide-report").textContent);
var R = DATA.report, STEPS = DATA.steps || [], NODES = R.nodes || [];
var detailsCache = null;
function details() {
  if (!detailsCache) {
    var text = document.getElementById("aide-details").textContent;
    detailsCache = text ? JSON.parse(text) : {};
  }
  return detailsCache;
}

// ---- formatting -------------------------------------------------------------
"""# + "\n" + domHelpers + "\n" + #"""
function int(v) { return Math.round(v).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
function compact(v) {
  var a = Math.abs(v);
  if (a >= 1e9) return parseFloat((v / 1e9).toPrecision(3)) + "G";
  if (a >= 1e6) return parseFloat((v / 1e6).toPrecision(3)) + "M";
  if (a >= 1e3) return parseFloat((v / 1e3).toPrecision(3)) + "k";
  return num(v);
}
function usd(v) {
  if (v === null || v === undefined) return "unknown";
  return "$" + (v >= 100 ? v.toFixed(2) : v.toFixed(4));
}
function dur(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return s.toFixed(1) + "s";
  var m = Math.floor(s / 60), h = Math.floor(m / 60);
  if (h > 0) return h + "h " + (m % 60) + "m";
  return m + "m " + Math.floor(s % 60) + "s";
}
function esc(t) { return t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }

// ---- summary ----------------------------------------------------------------
function summary() {
  var run = R.run;
  $("title").textContent = run.task;
  $("cards").innerHTML = "";
  var badge = el("span", "badge " + run.status, run.status);
  $("title").appendChild(badge);
  $("subtitle").textContent = run.id + " · started " + run.started_at.replace("T", " ").replace("Z", " UTC") +
    (run.stop_reason ? " · stopped: " + run.stop_reason : "") + " · aide " + run.aide_version;
  var dir = run.direction === "minimize" ? "lower is better" : "higher is better";
  var best = R.best;
  var cards = [
    ["Models", run.models.join(", "), R.totals.calls + " LLM calls"],
    ["Steps", R.counts.steps, R.counts.good + " good · " + R.counts.buggy + " buggy"],
    ["Best " + run.metric_name, best ? num(best.metric) : "none", best ? "node " + best.id + " · step " + best.step : dir],
    ["Test score", best ? num(best.test_score) : "–", best ? "of the best node" : "no good node"],
    ["Tokens", compact(R.totals.input_tokens + R.totals.output_tokens),
      int(R.totals.input_tokens) + " in · " + int(R.totals.output_tokens) + " out"],
    ["Cost", usd(R.totals.cost_usd), R.totals.cached_input_tokens || R.totals.cache_write_tokens
      ? int(R.totals.cached_input_tokens) + " input tokens cached · saved " + usd(R.totals.cache_savings_usd)
      : "calls of known price"],
    ["Time", dur(R.time.wall), "LLM " + dur(R.time.llm) + " · exec " + dur(R.time.execution)]
  ];
  var box = $("cards");
  cards.forEach(function (c) {
    var card = el("div", "card");
    var k = el("div", "k", c[0]); k.title = String(c[0]); card.appendChild(k);
    var v = el("div", "v", c[1]); v.title = String(c[1]); card.appendChild(v);
    var s = el("div", "s", c[2]); s.title = String(c[2]); card.appendChild(s);
    box.appendChild(card);
  });
  var models = R.models || [];
  $("models-section").style.display = models.length ? "" : "none";
  if (!models.length) return;
  var rows = "<table class=\"models\"><tr><th>model</th><th>calls</th><th>failed</th><th>input tokens</th>" +
    "<th>output tokens</th><th>USD</th><th>latency</th></tr>";
  models.forEach(function (m) {
    rows += "<tr><td>" + esc(m.model) + "</td><td>" + m.calls + "</td><td>" + m.failed_calls + "</td><td>" +
      int(m.input_tokens) + "</td><td>" + int(m.output_tokens) + "</td><td>" + usd(m.cost_usd) + "</td><td>" +
      dur(m.latency) + "</td></tr>";
  });
  $("models").innerHTML = rows + "</table>";
}

// ---- tree: a layered layout in O(n) --------------------------------------------
var DX = 28, DY = 58, PAD = 24, R0 = 9;
var px = [], py = [], byId = {}, selected = -1, nodeEls = [], treeW = 0, treeH = 0, zoom = 1, userZoom = false;

function layout() {
  var n = NODES.length, kids = new Array(n), roots = [], i;
  for (i = 0; i < n; i++) { byId[NODES[i].id] = i; kids[i] = []; }
  for (i = 0; i < n; i++) {
    var p = NODES[i].parent_id, pi = p === null || p === undefined ? undefined : byId[p];
    if (pi === undefined || pi === i) roots.push(i); else kids[pi].push(i);
  }
  var depth = new Int32Array(n), seen = new Uint8Array(n), order = [], first = new Int32Array(n).fill(-1),
    last = new Int32Array(n).fill(-1), x = new Float64Array(n), leaf = 0, maxDepth = 0;
  function walk(r) {
    if (seen[r]) return;
    if (order.length) leaf += 0.6;   // a little room between separate drafts
    var stack = [r]; seen[r] = 1; depth[r] = 0;
    while (stack.length) {
      var j = stack.pop(), k = kids[j], pushed = 0;
      order.push(j);
      if (depth[j] > maxDepth) maxDepth = depth[j];
      for (var c = k.length - 1; c >= 0; c--) {
        var child = k[c];
        if (seen[child]) continue;
        seen[child] = 1; depth[child] = depth[j] + 1; stack.push(child); pushed++;
        if (last[j] < 0) last[j] = child;
        first[j] = child;
      }
      if (!pushed) x[j] = leaf++;
    }
  }
  roots.forEach(walk);
  for (i = 0; i < n; i++) walk(i);     // nodes on a parent cycle (never written by aide)
  for (var o = order.length - 1; o >= 0; o--) {
    var v = order[o];
    if (first[v] >= 0) x[v] = (x[first[v]] + x[last[v]]) / 2;
  }
  for (i = 0; i < n; i++) { px[i] = PAD + 12 + x[i] * DX; py[i] = PAD + depth[i] * DY; }
  treeW = Math.max(0, leaf - 1) * DX + 2 * PAD + 24;
  treeH = maxDepth * DY + 2 * PAD;
  return maxDepth;
}

function shape(stage, r) {
  if (stage === "improve") return "<rect class=\"shape\" x=\"" + (-r) + "\" y=\"" + (-r) + "\" width=\"" + 2 * r +
    "\" height=\"" + 2 * r + "\" rx=\"2.5\"/>";
  if (stage === "crossover") {
    var t = r * 1.35;
    return "<polygon class=\"shape\" points=\"0," + (-t) + " " + t + "," + (0.8 * t) + " " + (-t) + "," + (0.8 * t) + "\"/>";
  }
  if (stage === "debug") {
    var d = r * 1.3;
    return "<polygon class=\"shape\" points=\"0," + (-d) + " " + d + ",0 0," + d + " " + (-d) + ",0\"/>";
  }
  return "<circle class=\"shape\" r=\"" + r + "\"/>";
}

function drawTree() {
  var pane = $("tree-pane"), n = NODES.length;
  if (!n) { pane.innerHTML = "<div class=\"empty\">No nodes yet.</div>"; return 0; }
  layout();
  var edges = [], pathEdges = [], shapes = [], i;
  for (i = 0; i < n; i++) {
    var node = NODES[i], p = node.parent_id === null ? undefined : byId[node.parent_id];
    if (p !== undefined && p !== i) {
      var ym = (py[p] + py[i]) / 2;
      var d = "M" + px[p] + " " + py[p] + "V" + ym + "H" + px[i] + "V" + py[i];
      (node.on_best_path && NODES[p].on_best_path ? pathEdges : edges).push(d);
    }
  }
  var bestId = R.best ? R.best.id : null;
  for (i = 0; i < n; i++) {
    var nd = NODES[i];
    var cls = "node " + (nd.is_buggy ? "buggy" : "good") + (nd.on_best_path ? " path" : "") + (nd.id === bestId ? " best" : "");
    var tip = "step " + nd.step + " · " + nd.stage + " · " + nd.id +
      (nd.is_buggy ? " · buggy" + (nd.bug_reasons.length ? ": " + nd.bug_reasons.join(", ") : "") :
        " · metric " + num(nd.metric) + (nd.test_score !== null ? " · test " + num(nd.test_score) : "")) +
      (nd.id === bestId ? " · best" : "");
    var label = nd.step < 1000 ? "<text style=\"font-size:" + (nd.step < 100 ? 8.5 : 7) + "px\">" + nd.step + "</text>" : "";
    shapes.push("<g class=\"" + cls + "\" data-i=\"" + i + "\" transform=\"translate(" + px[i] + "," + py[i] + ")\"><title>" +
      esc(tip) + "</title>" + shape(nd.stage, nd.id === bestId ? R0 + 2 : R0) + label + "</g>");
  }
  pane.innerHTML = "<svg id=\"tree\" viewBox=\"0 0 " + treeW + " " + treeH + "\">" +
    "<path class=\"edges\" d=\"" + edges.join("") + "\"/>" +
    "<path class=\"edges path\" d=\"" + pathEdges.join("") + "\"/>" +
    shapes.join("") + "</svg>";
  var svg = $("tree");
  nodeEls = new Array(n);
  var gs = svg.querySelectorAll("g.node");
  for (i = 0; i < gs.length; i++) nodeEls[+gs[i].getAttribute("data-i")] = gs[i];
  svg.addEventListener("click", function (e) {
    var g = e.target.closest ? e.target.closest("g.node") : null;
    if (g) select(+g.getAttribute("data-i"), false);
  });
  setZoom(userZoom ? zoom : fitZoom());
  if (selected >= 0 && nodeEls[selected]) { nodeEls[selected].classList.add("sel"); svg.appendChild(nodeEls[selected]); }
  return gs.length;
}

// Small trees are enlarged (up to 1.8×), wide ones shrunk to the pane's width (down to 0.25×).
function fitZoom() {
  var pane = $("tree-pane");
  return Math.max(0.25, Math.min(1.8, (pane.clientWidth - 4) / treeW, (pane.clientHeight - 4) / treeH));
}

function setZoom(z) {
  zoom = Math.min(3, Math.max(0.05, z));
  var svg = $("tree");
  if (!svg) return;
  svg.setAttribute("width", Math.round(treeW * zoom));
  svg.setAttribute("height", Math.round(treeH * zoom));
}

function legend() {
  function item(shapeHTML, cls, text) {
    return "<span><svg width=\"16\" height=\"16\" viewBox=\"-8 -8 16 16\"><g class=\"node " + cls + "\">" + shapeHTML +
      "</g></svg>" + text + "</span>";
  }
  $("legend").innerHTML = item(shape("draft", 5.5), "good", "draft") + item(shape("improve", 5), "good", "improve") +
    item(shape("debug", 4.6), "good", "debug") +
    (NODES.some(function (x) { return x.stage === "crossover"; }) ? item(shape("crossover", 5), "good", "crossover") : "") +
    item(shape("draft", 5.5), "buggy", "buggy") +
    "<span><svg width=\"20\" height=\"10\"><path d=\"M1 5H19\" stroke=\"#e0a100\" stroke-width=\"3\"/></svg>best path</span>";
}

// ---- node details ---------------------------------------------------------------
var KW = {}, BI = {};
("False None True and as assert async await break class continue def del elif else except finally for from global " +
  "if import in is lambda nonlocal not or pass raise return try while with yield match case").split(" ")
  .forEach(function (w) { KW[w] = 1; });
("print len range int float str list dict set tuple enumerate zip open sum min max abs sorted isinstance super " +
  "self round map filter any all type bool object Exception ValueError KeyError").split(" ")
  .forEach(function (w) { BI[w] = 1; });
var TOKEN = /(#[^\n]*)|((?:[rRbBuUfF]{1,2})?(?:"""[\s\S]*?(?:"""|$(?![\s\S]))|'''[\s\S]*?(?:'''|$(?![\s\S]))|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))|(\b(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d+)?j?))|(@[A-Za-z_][\w.]*)|([A-Za-z_]\w*)/g;

function highlight(code) {
  var out = [], last = 0, m, nameNext = false;
  TOKEN.lastIndex = 0;
  while ((m = TOKEN.exec(code)) !== null) {
    if (m.index > last) out.push(esc(code.slice(last, m.index)));
    var t = m[0], cls = null;
    if (m[1]) cls = "com";
    else if (m[2]) cls = "str";
    else if (m[3]) cls = "num";
    else if (m[4]) cls = "dec";
    else if (KW[t] === 1) cls = "kw";
    else if (nameNext) cls = "fn";
    else if (BI[t] === 1) cls = "bi";
    nameNext = m[5] !== undefined && (t === "def" || t === "class");
    out.push(cls ? "<span class=\"tk-" + cls + "\">" + esc(t) + "</span>" : esc(t));
    last = TOKEN.lastIndex;
    if (!t.length) TOKEN.lastIndex++;
  }
  out.push(esc(code.slice(last)));
  return out.join("");
}

function link(id) {
  var a = el("a", null, id);
  a.addEventListener("click", function () { if (byId[id] !== undefined) select(byId[id], true); });
  return a;
}

function select(i, scroll) {
  if (selected >= 0 && nodeEls[selected]) nodeEls[selected].classList.remove("sel");
  selected = i;
  var g = nodeEls[i];
  if (g) {
    g.classList.add("sel");
    g.parentNode.appendChild(g);   // draw on top
    if (scroll) {
      var pane = $("tree-pane");
      pane.scrollLeft = px[i] * zoom - pane.clientWidth / 2;
      pane.scrollTop = py[i] * zoom - pane.clientHeight / 2;
    }
  }
  renderDetail(i);
}

function renderDetail(i) {
  var node = NODES[i], d = details()[node.id] || null, box = $("detail");
  box.innerHTML = "";
  var h = el("h3", null, "Step " + node.step + " · " + node.stage + " · " + node.id);
  h.appendChild(el("span", "badge " + (node.is_buggy ? "buggy" : "good"), node.is_buggy ? "buggy" : "good"));
  if (R.best && R.best.id === node.id) h.appendChild(el("span", "badge best", "best"));
  else if (node.on_best_path) h.appendChild(el("span", "badge best", "on best path"));
  box.appendChild(h);

  var table = el("table");
  function row(k, v) {
    var tr = el("tr"); tr.appendChild(el("td", null, k));
    var td = el("td"); if (typeof v === "string") td.textContent = v; else td.appendChild(v);
    tr.appendChild(td); table.appendChild(tr);
  }
  row("parent", node.parent_id ? link(node.parent_id) : "–");
  if (node.other_parent_id) row("crossed with", link(node.other_parent_id));
  var kids = NODES.filter(function (x) { return x.parent_id === node.id; });
  if (kids.length) {
    var span = el("span");
    kids.forEach(function (k, j) { if (j) span.appendChild(document.createTextNode(" ")); span.appendChild(link(k.id)); });
    row("children", span);
  }
  row("metric", num(node.metric) + (d && d.metric_source ? " (from the " + d.metric_source + ")" : ""));
  row("test score", num(node.test_score));
  row("execution", node.exec_time === null ? "never ran" : dur(node.exec_time) +
    (d ? (d.timed_out ? " · timed out" : "") + (d.exit_code != null ? " · exit " + d.exit_code : "") +
      (d.signal != null ? " · signal " + d.signal : "") + (d.exception_type ? " · " + d.exception_type : "") : ""));
  if (d && d.ran_on && d.ran_on !== "local") row("ran on", d.ran_on + (d.queue_wait != null ? " · queued " + dur(d.queue_wait) : ""));
  if (d && d.debug_depth) row("debug depth", String(d.debug_depth));
  if (d && d.error) row("error", d.error);
  box.appendChild(table);
  if (node.bug_reasons && node.bug_reasons.length) {
    var ul = el("ul", "reasons");
    node.bug_reasons.forEach(function (r) { ul.appendChild(el("li", null, r)); });
    box.appendChild(ul);
  }
  if (!d) { box.appendChild(el("p", "empty", "No plan, code or output embedded in this page.")); return; }
  box.appendChild(el("h4", null, "Plan"));
  box.appendChild(el("p", "plan", d.plan || "–"));
  box.appendChild(el("h4", null, "Code"));
  var pre = el("pre"); pre.innerHTML = highlight(d.code || ""); box.appendChild(pre);
  if (d.diff) {
    box.appendChild(el("h4", null, "Change against the parent (patch)"));
    var change = el("pre", "diff");
    d.diff.split("\n").forEach(function (line) {
      var span = el("span", line[0] === "+" ? "add" : line[0] === "-" ? "del" : "hunk", line + "\n");
      change.appendChild(span);
    });
    box.appendChild(change);
  }
  box.appendChild(el("h4", null, "Output"));
  if (d.output_cut) box.appendChild(el("p", "note", "Long output: its first and last 2 KB are shown, " +
    int(d.output_cut) + " bytes between are cut. The whole output: " + d.whole_output));
  box.appendChild(d.output == null ? el("p", null, "Never ran.") : el("pre", "out", d.output));
  box.appendChild(el("h4", null, "Review"));
  box.appendChild(el("p", "plan", d.review ? (d.review.is_bug ? "Bug" : "No bug") +
    (d.review.metric !== null && d.review.metric !== undefined ? ", metric " + num(d.review.metric) : "") + ": " +
    d.review.summary : "None."));
  box.appendChild(el("h4", null, "LLM calls"));
  if (!d.calls || !d.calls.length) { box.appendChild(el("p", null, "None.")); return; }
  var calls = el("table", "models"), head = el("tr");
  ["purpose", "model", "tokens in", "cached", "out", "latency", "USD"].forEach(function (k) { head.appendChild(el("th", null, k)); });
  calls.appendChild(head);
  d.calls.forEach(function (c) {
    var tr = el("tr");
    [c.purpose + (c.attempts > 1 ? " (" + c.attempts + " attempts)" : ""), c.model, int(c.input_tokens),
      c.cached_input_tokens ? int(c.cached_input_tokens) : "–", int(c.output_tokens), dur(c.latency),
      c.cost_usd === null ? "unknown" : usd(c.cost_usd) +
        (c.cache_savings_usd !== null && c.cache_savings_usd !== undefined ? " (cache " + usd(c.cache_savings_usd) + ")" : "")]
      .forEach(function (v) { tr.appendChild(el("td", null, v)); });
    if (c.error) tr.title = "failed: " + c.error;
    calls.appendChild(tr);
  });
  box.appendChild(calls);
}

// ---- charts -------------------------------------------------------------------------
function nice(lo, hi, count, zero) {
  if (zero) { lo = Math.min(0, lo); hi = Math.max(0, hi); }
  if (!(hi > lo)) {
    if (lo === 0) hi = 1; else { var pad = Math.abs(lo) * 0.1; lo -= pad; hi += pad; }
  }
  var raw = (hi - lo) / count, step = Math.pow(10, Math.floor(Math.log10(raw))), err = raw / step;
  if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
  lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
  var ticks = [];
  for (var v = lo; v <= hi + step * 1e-9; v += step) ticks.push(parseFloat(v.toPrecision(12)));
  return { lo: lo, hi: hi, ticks: ticks };
}

// series: [{name, color, axis: 0 (left) | 1 (right), points: [[x, y]], fmt, dash}]
function chart(box, series, empty) {
  series = series.filter(function (s) { return s.points.length; });
  if (!series.length) { box.innerHTML = "<div class=\"empty\">" + esc(empty) + "</div>"; return; }
  var W = Math.max(320, box.clientWidth - 4), H = 250, L = 58, RT = series.some(function (s) { return s.axis; }) ? 62 : 16,
    T = 30, B = 34, xs = [], ax = [[], []];
  series.forEach(function (s) { s.points.forEach(function (p) { xs.push(p[0]); ax[s.axis].push(p[1]); }); });
  var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
  var xn = nice(x0, x1 === x0 ? x0 + 1 : x1, 8);
  xn.ticks = xn.ticks.filter(function (t) { return t === Math.round(t); });
  var zero = series.some(function (q) { return q.zero; });
  var yn = [ax[0].length ? nice(Math.min.apply(null, ax[0]), Math.max.apply(null, ax[0]), 5, zero) : null,
    ax[1].length ? nice(Math.min.apply(null, ax[1]), Math.max.apply(null, ax[1]), 5, zero) : null];
  function X(v) { return L + (v - xn.lo) / (xn.hi - xn.lo) * (W - L - RT); }
  function Y(a, v) { var n = yn[a]; return T + (1 - (v - n.lo) / (n.hi - n.lo)) * (H - T - B); }
  var s = "<svg width=\"" + W + "\" height=\"" + H + "\">";
  var main = yn[0] ? 0 : 1, mainFmt = series.filter(function (q) { return q.axis === main; })[0].fmt;
  yn[main].ticks.forEach(function (t) {
    s += "<line class=\"grid\" x1=\"" + L + "\" x2=\"" + (W - RT) + "\" y1=\"" + Y(main, t) + "\" y2=\"" + Y(main, t) + "\"/>";
    s += "<text x=\"" + (L - 6) + "\" y=\"" + (Y(main, t) + 4) + "\" text-anchor=\"end\">" + esc(mainFmt(t)) + "</text>";
  });
  if (main === 0 && yn[1]) {
    var rightFmt = series.filter(function (q) { return q.axis === 1; })[0].fmt;
    yn[1].ticks.forEach(function (t) {
      s += "<text x=\"" + (W - RT + 6) + "\" y=\"" + (Y(1, t) + 4) + "\">" + esc(rightFmt(t)) + "</text>";
    });
  }
  xn.ticks.forEach(function (t) {
    s += "<text x=\"" + X(t) + "\" y=\"" + (H - B + 16) + "\" text-anchor=\"middle\">" + t + "</text>";
  });
  s += "<text x=\"" + ((L + W - RT) / 2) + "\" y=\"" + (H - 4) + "\" text-anchor=\"middle\">step</text>";
  s += "<line class=\"axis\" x1=\"" + L + "\" x2=\"" + (W - RT) + "\" y1=\"" + (H - B) + "\" y2=\"" + (H - B) + "\"/>";
  var lx = L;
  series.forEach(function (q) {
    var d = "", prev = null;
    q.points.forEach(function (p) {
      var x = X(p[0]), y = Y(q.axis, p[1]);
      d += prev === null ? "M" + x + " " + y : "H" + x + "V" + y;   // a step line: best-so-far values
      prev = y;
    });
    s += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + q.color + "\" stroke-width=\"2\"" +
      (q.dash ? " stroke-dasharray=\"5 3\"" : "") + "/>";
    if (q.points.length <= 120) q.points.forEach(function (p) {
      s += "<circle cx=\"" + X(p[0]) + "\" cy=\"" + Y(q.axis, p[1]) + "\" r=\"2.6\" fill=\"" + q.color + "\"/>";
    });
    s += "<rect x=\"" + lx + "\" y=\"9\" width=\"14\" height=\"4\" rx=\"1\" fill=\"" + q.color + "\"/>";
    s += "<text x=\"" + (lx + 19) + "\" y=\"15\">" + esc(q.name) + "</text>";
    lx += 30 + q.name.length * 6.4;
  });
  box.innerHTML = s + "</svg>";
}

function charts() {
  function pts(key) {
    return STEPS.filter(function (r) { return r[key] !== null && r[key] !== undefined; })
      .map(function (r) { return [r.step, r[key]]; });
  }
  var none = STEPS.length ? "No good node yet." : "No metrics journal in this page.";
  chart($("chart-metric"), [
    { name: "best " + R.run.metric_name, color: "#2f6fde", axis: 0, points: pts("best_metric"), fmt: num },
    { name: "its test score", color: "#e07b00", axis: 0, points: pts("best_test_score"), fmt: num, dash: true }
  ], none);
  chart($("chart-cost"), [
    { name: "tokens (in + out)", color: "#7a4fd6", axis: 0, fmt: compact, zero: true,
      points: STEPS.map(function (r) { return [r.step, r.input_tokens + r.output_tokens]; }) },
    { name: "USD", color: "#2f9e5f", axis: 1, fmt: function (v) { return "$" + num(v); }, dash: true,
      points: STEPS.map(function (r) { return [r.step, r.cost_usd]; }) }
  ], "No metrics journal in this page.");
}

// ---- start ---------------------------------------------------------------------------
summary();
legend();
var drawn = drawTree();
$("zoom-in").addEventListener("click", function () { userZoom = true; setZoom(zoom * 1.25); });
$("zoom-out").addEventListener("click", function () { userZoom = true; setZoom(zoom / 1.25); });
$("zoom-fit").addEventListener("click", function () { userZoom = false; setZoom(fitZoom()); });
charts();
// Find: an id prefix, a step number or a stage; Enter (again) goes to the next match.
var hits = [], hit = -1;
function find(query) {
  query = query.trim().toLowerCase();
  hits = [];
  if (query) for (var i = 0; i < NODES.length; i++) {
    var nd = NODES[i];
    if (nd.id.toLowerCase().indexOf(query) === 0 || String(nd.step) === query || nd.stage === query) hits.push(i);
  }
  hit = -1;
  $("find-count").textContent = query ? (hits.length ? hits.length + " found" : "none") : "";
}
$("find").addEventListener("input", function () { find(this.value); });
$("find").addEventListener("keydown", function (e) {
  if (e.key !== "Enter" || !hits.length) return;
  hit = (hit + 1) % hits.length;
  $("find-count").textContent = (hit + 1) + " of " + hits.length;
  select(hits[hit], true);
});
if (NODES.length) select(R.best && byId[R.best.id] !== undefined ? byId[R.best.id] : NODES.length - 1, true);
var resizeTimer = null;
window.addEventListener("resize", function () {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(charts, 150);
});
body.dataset.nodes = String(drawn);

// ---- live (aide serve) -----------------------------------------------------------------
// An update holds the nodes committed since the page was made, in this page's own data format:
// they are appended, the summary, tree and charts redrawn, and the node the user has open, the
// zoom and the scroll kept.
function detailSignature(i) {
  var node = NODES[i];
  return NODES.filter(function (x) { return x.parent_id === node.id; }).map(function (x) { return x.id; }).join(" ") +
    "|" + node.on_best_path + "|" + (R.best ? R.best.id : "");
}
function update(u) {
  var report = u.data.report, added = report.nodes || [], cache = details(), seen = {}, onPath = {}, i;
  for (var key in u.details) if (Object.prototype.hasOwnProperty.call(u.details, key)) cache[key] = u.details[key];
  var before = selected >= 0 ? detailSignature(selected) : null;
  NODES.forEach(function (x) { seen[x.id] = 1; });
  added.forEach(function (x) { if (!seen[x.id]) { NODES.push(x); seen[x.id] = 1; } });
  (report.best_path || []).forEach(function (id) { onPath[id] = 1; });
  for (i = 0; i < NODES.length; i++) NODES[i].on_best_path = onPath[NODES[i].id] === 1;
  report.nodes = NODES;
  R = report;
  var bySteps = {};
  STEPS.concat(u.data.steps || []).forEach(function (r) { bySteps[r.step] = r; });
  STEPS = Object.keys(bySteps).map(function (k) { return bySteps[k]; }).sort(function (a, b) { return a.step - b.step; });
  var pane = $("tree-pane"), left = pane.scrollLeft, top = pane.scrollTop;
  summary();
  legend();
  drawn = drawTree();
  pane.scrollLeft = left; pane.scrollTop = top;
  charts();
  find($("find").value);
  if (selected >= 0) {
    if (detailSignature(selected) !== before) {
      var box = $("detail"), scroll = box.scrollTop;
      renderDetail(selected);
      box.scrollTop = scroll;
    }
  } else if (NODES.length) {
    select(R.best && byId[R.best.id] !== undefined ? byId[R.best.id] : NODES.length - 1, true);
  }
  body.dataset.nodes = String(drawn);
}
window.aideViewer = { update: update, count: function () { return NODES.length; } };
})();

"""#
}
