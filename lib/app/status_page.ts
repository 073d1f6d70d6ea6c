/**
 * The live status page at `/_salut/status`: the pool at work, refreshed from
 * `/_salut/status.json` twice a second, with charts of the last minute's requests per second and
 * p99 latency drawn as inline SVG. Self-contained (its icon inline, no request outside
 * `/_salut/`), so it works whatever the root holds; light and dark.
 *
 * @module
 */

import type { Setting } from "../config/file.ts";
import { escapeHtml } from "../static/listing.ts";

/** salut's icon, the bundled site's `favicon.svg`, inlined so that any root will do. */
export const STATUS_ICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#b7410e"/><path d="M9 7h14a4 4 0 0 1 4 4v8a4 4 0 0 1-4 4h-8l-6 5v-5a4 4 0 0 1-4-4v-8a4 4 0 0 1 4-4z" fill="#fff"/><circle cx="11" cy="15" r="2" fill="#b7410e"/><circle cx="16" cy="15" r="2" fill="#b7410e"/><circle cx="21" cy="15" r="2" fill="#b7410e"/></svg>`;

/** Options for {@linkcode statusPage}. */
export interface StatusPageOptions {
  /** Whether `/sleep` is served, so the page may invite the reader to open it. */
  sleep: boolean;
  /** The settings and where each came from. @default [] */
  settings?: readonly Setting[];
}

const SLEEP_HINT =
  `Open <a href="/sleep?ms=3000" target="_blank" rel="noopener"><code>/sleep?ms=3000</code></a> in another tab and watch a worker turn busy, then come back.`;
const PLAIN_HINT = "Each worker as it answers your site's requests, refreshed twice a second.";

/** The status page's HTML; it links to `/sleep` only when that route is on. */
export function statusPage(options: StatusPageOptions): string {
  return STATUS_PAGE.replace(
    "<!--hint-->",
    options.sleep ? SLEEP_HINT : PLAIN_HINT,
  ).replace("<!--settings-->", settingsTable(options.settings ?? []));
}

/** The settings as a table: name, value, and where it came from (default, file, …). */
function settingsTable(settings: readonly Setting[]): string {
  if (settings.length === 0) return "";
  const rows = settings.map(({ name, value, source }) =>
    `<tr data-source="${source}"><td><code>${escapeHtml(name)}</code></td>` +
    `<td><code>${escapeHtml(value)}</code></td><td>${source}</td></tr>`
  );
  return `<h2>Settings</h2>\n<table aria-label="Settings">\n<thead><tr><th>Setting</th><th>Value</th>` +
    `<th>From</th></tr></thead>\n<tbody>\n${rows.join("\n")}\n</tbody>\n</table>\n`;
}

const STATUS_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>salut · status</title>
<link rel="icon" href="data:image/svg+xml,${
  encodeURIComponent(STATUS_ICON_SVG)
}" type="image/svg+xml">
<style>
:root { --fg: #1d2430; --muted: #5b6573; --bg: #fbfaf7; --card: #ffffff; --line: #e4e1da; --busy: #b4530a; --busy-bg: #fdebd7; --idle: #1b7f4b; --idle-bg: #def5e7; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e6e1; --muted: #a3a9b3; --bg: #16181d; --card: #1e2128; --line: #2e323b; --busy: #ffb15e; --busy-bg: #47301a; --idle: #6fdc9c; --idle-bg: #173826; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 56rem; margin: 0 auto; padding: 2rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
p.lead { margin: 0 0 1.5rem; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(7.5rem, 1fr)); gap: .75rem; margin-bottom: 1.5rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: .75rem 1rem; }
.card .label { font-size: .8rem; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 1.5rem; font-variant-numeric: tabular-nums; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: .6rem; overflow: hidden; }
th, td { text-align: left; padding: .55rem .8rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
tr:last-child td { border-bottom: 0; }
td.num, th.num { font-variant-numeric: tabular-nums; text-align: right; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.state { display: inline-block; min-width: 3.5rem; text-align: center; border-radius: 1rem; padding: 0 .6rem; font-size: .85rem; font-weight: 600; }
.state.busy { color: var(--busy); background: var(--busy-bg); }
.state.idle { color: var(--idle); background: var(--idle-bg); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: .75rem; margin-bottom: 1.5rem; }
.chart svg { display: block; width: 100%; height: 5rem; margin-top: .35rem; }
.chart .axis { stroke: var(--line); stroke-width: 1; }
.chart .line { fill: none; stroke: var(--busy); stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; vector-effect: non-scaling-stroke; }
.chart .note { font-size: .8rem; color: var(--muted); }
footer { margin-top: 1.5rem; font-size: .85rem; color: var(--muted); }
a { color: inherit; }
</style>
</head>
<body>
<main>
<h1>salut · the pool at work</h1>
<p class="lead"><!--hint--></p>
<section class="cards" aria-label="Server">
<div class="card"><div class="label">Workers</div><div class="value" id="workers">–</div></div>
<div class="card"><div class="label">Busy</div><div class="value" id="busy">–</div></div>
<div class="card"><div class="label">Queued jobs</div><div class="value" id="queued">–</div></div>
<div class="card"><div class="label">Connections</div><div class="value" id="connections">–</div></div>
<div class="card"><div class="label">Requests/s</div><div class="value" id="rate">–</div></div>
<div class="card"><div class="label">Uptime</div><div class="value" id="uptime">–</div></div>
</section>
<section class="charts" aria-label="The last minute">
<div class="card chart"><div class="label">Requests/s · last minute</div>
<svg id="rate-chart" viewBox="0 0 300 80" preserveAspectRatio="none" role="img" aria-label="Requests per second over the last minute"><line class="axis" x1="0" y1="79.5" x2="300" y2="79.5"/><path class="line" d=""/></svg>
<div class="note" id="rate-note">–</div></div>
<div class="card chart"><div class="label">p99 latency · last minute</div>
<svg id="p99-chart" viewBox="0 0 300 80" preserveAspectRatio="none" role="img" aria-label="99th percentile latency over the last minute"><line class="axis" x1="0" y1="79.5" x2="300" y2="79.5"/><path class="line" d=""/></svg>
<div class="note" id="p99-note">–</div></div>
</section>
<table aria-label="Workers">
<thead><tr><th>Worker</th><th>State</th><th>Running</th><th class="num">For</th><th class="num">Jobs done</th></tr></thead>
<tbody id="pool"><tr><td colspan="5">Loading…</td></tr></tbody>
</table>
<!--settings-->
<footer><span id="updated" aria-live="polite"></span> · <a href="/_salut/status.json">JSON</a></footer>
</main>
<script>
const $ = (id) => document.getElementById(id);
function duration(ms) {
  if (ms < 1000) return Math.round(ms) + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  const m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
  return d ? d + " d " + (h % 24) + " h" : h ? h + " h " + (m % 60) + " min" : m + " min " + Math.floor(s % 60) + " s";
}
function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.append(text);
  return td;
}
// One value a second, oldest first; null (no requests that second) leaves a gap in the line.
function chart(id, values) {
  const max = Math.max(0, ...values.filter((v) => v !== null));
  const step = 300 / Math.max(1, values.length - 1);
  let d = "", pen = "M";
  values.forEach((v, i) => {
    if (v === null) { pen = "M"; return; }
    const y = max > 0 ? 78 - (v / max) * 74 : 78;
    // "h0" after a move: a lone second still shows, as a round dot.
    d += pen + (i * step).toFixed(1) + " " + y.toFixed(1) + (pen === "M" ? " h0 " : " ");
    pen = "L";
  });
  const svg = $(id + "-chart");
  svg.querySelector("path").setAttribute("d", d.trim());
  svg.dataset.points = String(values.filter((v) => v !== null).length);
  return max;
}
function render(status) {
  $("workers").textContent = status.workers.length;
  $("busy").textContent = status.workers.filter((w) => w.busy).length;
  $("queued").textContent = status.queued;
  $("connections").textContent = status.connections;
  $("rate").textContent = status.requestsPerSecond;
  $("uptime").textContent = duration(status.uptime);
  const rows = status.workers.map((w) => {
    const tr = document.createElement("tr");
    tr.dataset.worker = w.id;
    const name = w.busy ? "busy" : w.ready ? "idle" : "starting";
    tr.dataset.state = name;
    const state = document.createElement("span");
    state.className = "state " + (w.busy ? "busy" : "idle");
    state.textContent = name;
    const job = document.createElement("code");
    job.textContent = w.job ?? "";
    tr.append(cell("Worker " + w.id), cell(state), cell(w.busy ? job : "–"), cell(w.busyFor === null ? "–" : duration(w.busyFor), "num"), cell(String(w.jobsDone), "num"));
    return tr;
  });
  $("pool").replaceChildren(...rows);
  const { rate, p99 } = status.history;
  const top = chart("rate", rate);
  $("rate-note").textContent = "now " + rate[rate.length - 1] + "/s · peak " + top + "/s";
  const slowest = chart("p99", p99);
  const last = p99.filter((v) => v !== null).pop();
  $("p99-note").textContent = last === undefined ? "no requests yet" : "last " + last + " ms · peak " + slowest + " ms";
  $("updated").textContent = (status.shuttingDown ? "Shutting down · " : "") + "updated " + new Date().toLocaleTimeString();
}
async function poll() {
  try {
    const response = await fetch("/_salut/status.json", { cache: "no-store" });
    if (response.ok) render(await response.json());
    else $("updated").textContent = "status unavailable (" + response.status + ")";
  } catch {
    $("updated").textContent = "server unreachable";
  }
  setTimeout(poll, 500);
}
poll();
</script>
</body>
</html>
`;
