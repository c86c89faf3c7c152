/// The admin dashboard: one self-contained page (no build step). It polls
/// /api/stats every second and draws with Chart.js when /chart.js is served
/// (Debian's libjs-chart.js); without it the numbers still show.
enum DashboardPage {
    static let html: String = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Capuchin admin</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#6b7385; --hit:#2f9e44; --miss:#e8590c; --rps:#1c7ed6; --line:#e3e6eb; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; align-items:center; gap:12px; padding:12px 20px; background:var(--card); border-bottom:1px solid var(--line); flex-wrap:wrap; }
  header h1 { font-size:18px; margin:0; }
  header .sub { color:var(--muted); }
  header .grow { flex:1; }
  main { padding:16px 20px; display:grid; gap:16px; grid-template-columns: repeat(12, 1fr); max-width:1400px; margin:0 auto; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; min-width:0; }
  .kpis { grid-column: span 12; display:grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap:12px; }
  .kpi .v { font-size:22px; font-weight:600; font-variant-numeric: tabular-nums; }
  .kpi .l { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  .wide { grid-column: span 8; } .narrow { grid-column: span 4; } .full { grid-column: span 12; }
  h2 { font-size:14px; margin:0 0 10px; color:var(--muted); font-weight:600; text-transform:uppercase; letter-spacing:.04em; }
  .chartbox { position:relative; height:240px; }
  .bar { height:14px; background:var(--line); border-radius:7px; overflow:hidden; margin:6px 0 4px; }
  .bar > div { height:100%; background:var(--rps); width:0; transition:width .4s; }
  table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align:left; padding:6px 4px; border-bottom:1px solid var(--line); white-space:nowrap; }
  td.key { max-width:420px; overflow:hidden; text-overflow:ellipsis; }
  th { color:var(--muted); font-weight:600; font-size:12px; }
  button { font:inherit; padding:6px 12px; border-radius:6px; border:1px solid var(--line); background:#fff; cursor:pointer; }
  button.danger { border-color:#f03e3e; color:#c92a2a; }
  input { font:inherit; padding:6px 8px; border:1px solid var(--line); border-radius:6px; min-width:0; }
  .row { display:flex; gap:8px; flex-wrap:wrap; align-items:center; margin:8px 0; }
  #status { color:var(--muted); }
  #status.err, td.err { color:#c92a2a; }
  @media (max-width: 900px) { .wide, .narrow { grid-column: span 12; } main { padding:10px; } td.key { max-width:160px; } }
</style>
</head>
<body>
<header>
  <h1>Capuchin</h1><span class="sub">cache admin</span>
  <span class="grow"></span>
  <span id="status">connecting…</span>
  <input id="token" type="password" placeholder="admin token (if set)" autocomplete="off" size="16">
</header>
<main>
  <section class="kpis">
    <div class="card kpi"><div class="v" id="k-rps">–</div><div class="l">requests/s (1 s)</div></div>
    <div class="card kpi"><div class="v" id="k-rps60">–</div><div class="l">requests/s (1 min)</div></div>
    <div class="card kpi"><div class="v" id="k-hits">–</div><div class="l">hits</div></div>
    <div class="card kpi"><div class="v" id="k-misses">–</div><div class="l">misses</div></div>
    <div class="card kpi"><div class="v" id="k-ratio">–</div><div class="l">hit ratio</div></div>
    <div class="card kpi"><div class="v" id="k-entries">–</div><div class="l">entries</div></div>
    <div class="card kpi"><div class="v" id="k-uptime">–</div><div class="l">uptime</div></div>
    <div class="card kpi"><div class="v" id="k-saved">–</div><div class="l">saved by compression</div></div>
  </section>
  <section class="card wide">
    <h2>Requests per second</h2>
    <div class="chartbox"><canvas id="c-rps" aria-label="requests per second"></canvas></div>
  </section>
  <section class="card narrow">
    <h2>Occupancy</h2>
    <div>Bytes: <span id="o-bytes">–</span></div>
    <div class="bar"><div id="o-bytes-bar"></div></div>
    <div>Entries: <span id="o-entries">–</span></div>
    <div class="bar"><div id="o-entries-bar"></div></div>
    <h2 style="margin-top:16px">Actions</h2>
    <div class="row"><button class="danger" id="b-clear">Clear cache</button></div>
    <div class="row"><input id="i-prefix" placeholder="key prefix, e.g. localhost/img/"><button id="b-purge">Purge prefix</button></div>
    <div id="a-result" class="sub"></div>
  </section>
  <section class="card wide">
    <h2>Hits and misses per second</h2>
    <div class="chartbox"><canvas id="c-hm" aria-label="hits and misses per second"></canvas></div>
  </section>
  <section class="card narrow">
    <h2>Store</h2>
    <table><tbody id="t-store"></tbody></table>
  </section>
  <section class="card full" id="backends" hidden>
    <h2>Proxy backends</h2>
    <table><thead><tr><th>pool</th><th>backend</th><th>state</th><th>health checks</th><th>in flight</th></tr></thead><tbody id="t-backends"></tbody></table>
  </section>
  <section class="card full">
    <h2>Top entries</h2>
    <table><thead><tr><th>key</th><th>hits</th><th>size</th><th>last access</th></tr></thead><tbody id="t-top"></tbody></table>
  </section>
</main>
<script src="/chart.js"></script>
<script>
"use strict";
const N = 60;
const series = { labels: [], rps: [], hits: [], misses: [] };
let last = null, charts = null;
const $ = (id) => document.getElementById(id);
const tokenBox = $("token");
tokenBox.value = localStorage.getItem("capuchin-token") || "";
tokenBox.addEventListener("change", () => localStorage.setItem("capuchin-token", tokenBox.value));
function headers() { const t = tokenBox.value; return t ? { "Authorization": "Bearer " + t } : {}; }
function fmtBytes(n) { const u = ["B","KiB","MiB","GiB","TiB"]; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + " " + u[i]; }
function fmtNum(n) { return Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 }); }
function fmtDur(s) { s = Math.floor(s); const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60); return d ? d + "d " + h + "h" : h ? h + "h " + m + "m" : m + "m " + (s % 60) + "s"; }
function makeCharts() {
  if (typeof Chart === "undefined") return null;
  const opts = { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true } }, plugins: { legend: { position: "bottom" } } };
  return {
    rps: new Chart($("c-rps"), { type: "line", data: { labels: series.labels, datasets: [{ label: "requests/s", data: series.rps, borderColor: "#1c7ed6", backgroundColor: "rgba(28,126,214,.12)", fill: true, pointRadius: 0, tension: .25 }] }, options: opts }),
    hm: new Chart($("c-hm"), { type: "line", data: { labels: series.labels, datasets: [
      { label: "hits/s", data: series.hits, borderColor: "#2f9e44", pointRadius: 0, tension: .25 },
      { label: "misses/s", data: series.misses, borderColor: "#e8590c", pointRadius: 0, tension: .25 }] }, options: opts }),
  };
}
function push(label, rps, hits, misses) {
  series.labels.push(label); series.rps.push(rps); series.hits.push(hits); series.misses.push(misses);
  if (series.labels.length > N) { for (const k in series) series[k].shift(); }
  if (charts) { charts.rps.update(); charts.hm.update(); }
  document.body.dataset.points = String(series.labels.length);
}
async function api(method, path) {
  const r = await fetch(path, { method, headers: headers() });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
  return body;
}
async function tick() {
  try {
    const s = await api("GET", "/api/stats");
    // Without the file cache plugin (capuchin proxy) there are no cache figures.
    const c = s.cache || { hits: 0, misses: 0, hit_ratio: 0, entries: 0, bytes_held: 0, capacity_bytes: 0, capacity_entries: 0 };
    $("k-rps").textContent = fmtNum(s.requests_per_second_1s);
    $("k-rps60").textContent = fmtNum(s.requests_per_second_1m);
    $("k-hits").textContent = fmtNum(c.hits); $("k-misses").textContent = fmtNum(c.misses);
    $("k-ratio").textContent = (c.hit_ratio * 100).toFixed(1) + "%";
    $("k-entries").textContent = fmtNum(c.entries); $("k-uptime").textContent = fmtDur(s.uptime_seconds);
    $("k-saved").textContent = s.compression ? fmtBytes(s.compression.bytes_saved) : "–";
    $("o-bytes").textContent = fmtBytes(c.bytes_held) + " of " + fmtBytes(c.capacity_bytes);
    $("o-entries").textContent = fmtNum(c.entries) + " of " + fmtNum(c.capacity_entries);
    $("o-bytes-bar").style.width = Math.min(100, 100 * c.bytes_held / Math.max(1, c.capacity_bytes)) + "%";
    $("o-entries-bar").style.width = Math.min(100, 100 * c.entries / Math.max(1, c.capacity_entries)) + "%";
    const now = new Date().toLocaleTimeString();
    if (last) {
      const dt = Math.max(0.001, (s.uptime_seconds - last.uptime_seconds));
      push(now, s.requests_per_second_1s, Math.max(0, (c.hits - last.c.hits) / dt), Math.max(0, (c.misses - last.c.misses) / dt));
    } else {
      push(now, s.requests_per_second_1s, 0, 0);
    }
    last = { uptime_seconds: s.uptime_seconds, c };
    const st = s.store || {};
    $("t-store").innerHTML = "";
    const rows = { "map used": fmtBytes(st.map_used_bytes || 0) + " / " + fmtBytes(st.map_size_bytes || 0), "last commit": st.last_commit_age_seconds == null ? "–" : st.last_commit_age_seconds.toFixed(1) + " s ago", "schema": st.schema_version ?? "–", "connections": (s.connections_per_worker || []).join(" / ") };
    if (s.tls) {
      const t = s.tls;
      rows["TLS handshakes"] = fmtNum(t.handshakes) + " (" + fmtNum(t.resumed_handshakes) + " resumed, " + fmtNum(t.handshake_failures) + " failed)";
      rows["TLS protocols"] = Object.entries(t.handshakes_by_protocol).map(([k, v]) => k + ": " + v).join(", ") || "–";
      rows["TLS ciphers"] = Object.entries(t.handshakes_by_cipher).map(([k, v]) => k + ": " + v).join(", ") || "–";
      rows["TLS failures"] = Object.entries(t.failures_by_reason).map(([k, v]) => k + ": " + v).join(", ") || "–";
    }
    if (s.upstream_tls) {
      const u = s.upstream_tls;
      rows["TLS to origins"] = fmtNum(u.handshakes) + " (" + fmtNum(u.resumed_handshakes) + " resumed, " + fmtNum(u.handshake_failures) + " failed)";
    }
    for (const [k, v] of Object.entries(rows)) {
      const tr = document.createElement("tr"); tr.innerHTML = "<td></td><td></td>"; tr.children[0].textContent = k; tr.children[1].textContent = v; $("t-store").appendChild(tr);
    }
    const bs = s.backends || [];
    $("backends").hidden = bs.length === 0;
    $("t-backends").innerHTML = "";
    for (const b of bs) {
      const tr = document.createElement("tr"); tr.innerHTML = "<td></td><td></td><td></td><td></td><td></td>";
      const state = b.up ? "up" : (b.healthy === false ? "unhealthy" : "down " + b.down_for_seconds.toFixed(1) + " s");
      tr.children[0].textContent = b.pool; tr.children[1].textContent = b.backend;
      tr.children[2].textContent = state; tr.children[2].className = b.up ? "" : "err";
      tr.children[3].textContent = b.healthy == null ? "none" : (b.healthy ? "passing" : "failing") + " (" + fmtNum(b.checks_passed) + " ok, " + fmtNum(b.checks_failed) + " failed)";
      tr.children[4].textContent = fmtNum(b.in_flight);
      $("t-backends").appendChild(tr);
    }
    $("status").textContent = "live"; $("status").className = "";
  } catch (e) { $("status").textContent = "error: " + e.message; $("status").className = "err"; }
}
async function loadTop() {
  try {
    const r = await api("GET", "/api/entries?sort=hits&limit=10");
    const tb = $("t-top"); tb.innerHTML = "";
    for (const e of r.entries) {
      const tr = document.createElement("tr"); tr.innerHTML = "<td class=key></td><td></td><td></td><td></td>";
      tr.children[0].textContent = e.key; tr.children[0].title = e.key; tr.children[1].textContent = fmtNum(e.hits);
      tr.children[2].textContent = fmtBytes(e.size); tr.children[3].textContent = new Date(e.last_access_ms).toLocaleTimeString();
      tb.appendChild(tr);
    }
  } catch (e) {}
}
$("b-clear").addEventListener("click", async () => {
  if (!confirm("Remove every entry from the cache?")) return;
  try { const r = await api("DELETE", "/api/cache?all=1"); $("a-result").textContent = "cleared " + r.removed + " entries"; loadTop(); tick(); }
  catch (e) { $("a-result").textContent = "clear failed: " + e.message; }
});
$("b-purge").addEventListener("click", async () => {
  const p = $("i-prefix").value.trim();
  if (!p) { $("a-result").textContent = "enter a prefix"; return; }
  if (!confirm("Purge every entry whose key starts with " + p + "?")) return;
  try { const r = await api("DELETE", "/api/cache?prefix=" + encodeURIComponent(p)); $("a-result").textContent = "purged " + r.removed + " entries"; loadTop(); }
  catch (e) { $("a-result").textContent = "purge failed: " + e.message; }
});
charts = makeCharts();
tick(); loadTop();
setInterval(tick, 1000); setInterval(loadTop, 5000);
</script>
</body>
</html>
"""#
}
