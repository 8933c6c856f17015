// The status page: reads /cluster every few seconds and draws it. No framework, no
// external resources: the page works on a machine without internet access.
"use strict";

const REFRESH_MS = 3000;
const LAG_WARNING = 1000;
let key = sessionStorage.getItem("strata-key") || "";

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) tr.appendChild(c instanceof Node ? c : el("td", c));
  return tr;
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return s + " s ago";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}

function time(ms) {
  return new Date(ms).toLocaleTimeString();
}

function fill(table, rows) {
  const body = $(table).tBodies[0];
  body.replaceChildren(...rows);
}

function drawMembers(view) {
  const rows = view.members.map((m) => {
    const d = m.status && m.status.detail;
    const led = m.status ? m.status.groups.filter((g) => g.role === "Leader").length : "–";
    const state = el("td", m.up ? "up" : "unreachable since " + time(m.since_ms) + " (" + ago(m.since_ms) + ")",
      m.up ? "state-up" : "state-down");
    if (m.error) state.title = m.error;
    const free = d && d.available_bytes !== null && d.capacity_bytes
      ? bytes(d.available_bytes) + " (" + Math.round(100 * d.available_bytes / d.capacity_bytes) + "%)" : "–";
    const tr = row([
      el("td", m.id + (m.id === view.served_by ? " (this page)" : "") + (m.leaving ? " leaving" : "")),
      m.client_addr, state, d ? d.version : "–", led, d ? bytes(d.disk_bytes) : "–", free,
    ]);
    tr.dataset.node = m.id;
    tr.className = m.up ? "up" : "down";
    return tr;
  });
  fill("members", rows);
}

function drawGroups(view) {
  const rows = view.groups.map((g) => {
    const replicas = Object.entries(g.applied).map(([n, a]) => n + ": " + (a === null ? "–" : a)).join("  ");
    const lag = Object.entries(g.lag).map(([n, l]) => {
      const s = el("span", n + ": " + l, l > LAG_WARNING ? "lagging" : "");
      return s;
    });
    const lagCell = el("td");
    lag.forEach((s, i) => { if (i) lagCell.append("  "); lagCell.appendChild(s); });
    const tr = row([
      String(g.group), g.holds,
      g.leader === null ? el("td", "none", "none") : el("td", g.leader),
      g.term, replicas, lagCell,
    ]);
    tr.dataset.group = g.group;
    return tr;
  });
  fill("groups", rows);
}

function drawNamespaces(view) {
  const vectors = new Map();
  const graphs = new Map();
  for (const m of view.members) {
    const d = m.status && m.status.detail;
    if (!d) continue;
    // Each replica holds a partition: a namespace's size is the largest sum a member
    // reports when every member holds every partition, the sum over distinct partitions
    // otherwise; the largest report is the honest lower bound shown here.
    for (const [name, [n, backlog]] of Object.entries(d.vector_namespaces)) {
      const was = vectors.get(name) || [0, 0];
      vectors.set(name, [Math.max(was[0], n), Math.max(was[1], backlog)]);
    }
    for (const [name, [nodes, rels]] of Object.entries(d.graphs)) {
      const was = graphs.get(name) || [0, 0];
      graphs.set(name, [Math.max(was[0], nodes), Math.max(was[1], rels)]);
    }
  }
  // A collection lives in one KV group, the same on each of its replicas: the largest
  // report is its size (a lagging replica reports less).
  const collections = new Map();
  let chatKeys = null;
  for (const m of view.members) {
    const d = m.status && m.status.detail;
    if (!d) continue;
    for (const [name, n] of Object.entries(d.collections || {})) {
      collections.set(name, Math.max(collections.get(name) || 0, n));
    }
    if (d.chat_keys !== null && d.chat_keys !== undefined) chatKeys = Math.max(chatKeys || 0, d.chat_keys);
  }
  const rows = [];
  for (const [store, name, items] of kvRows(collections)) rows.push(row([store, name, items, "–"]));
  if (chatKeys !== null) rows.push(row(["chat", "chat store", chatKeys + " keys", "–"]));
  for (const [name, [n, backlog]] of [...vectors].sort()) rows.push(row(["vector", name, n, backlog]));
  for (const [name, [nodes, rels]] of [...graphs].sort()) {
    rows.push(row(["graph", name, nodes + " nodes, " + rels + " relations", "–"]));
  }
  if (!rows.length) rows.push(row([el("td", "nothing stored yet")]));
  fill("namespaces", rows);
}

// A docstore namespace NS is the collections NS/data (its documents), NS/metadata and
// NS/ref_doc_info: shown as one line of documents; every other collection as itself.
function kvRows(collections) {
  const docstores = new Set();
  for (const name of collections.keys()) {
    const m = name.match(/^(.*)\/(metadata|ref_doc_info)$/);
    if (m) docstores.add(m[1]);
  }
  const rows = [];
  for (const [name, n] of [...collections].sort()) {
    const m = name.match(/^(.*)\/(data|metadata|ref_doc_info)$/);
    if (m && docstores.has(m[1])) {
      if (m[2] === "data") rows.push(["documents", m[1], n + " documents"]);
    } else {
      rows.push(["kv", name, n + " entries"]);
    }
  }
  return rows;
}

function drawChanges(view) {
  const all = [];
  for (const m of view.members) {
    const d = m.status && m.status.detail;
    if (!d) continue;
    for (const c of d.leader_changes) all.push({ ...c, by: m.id });
  }
  all.sort((a, b) => b.at_ms - a.at_ms);
  const rows = all.slice(0, 20).map((c) =>
    row([time(c.at_ms), c.group, c.leader === null ? el("td", "none (election)", "none") : el("td", c.leader), c.term, c.by]));
  fill("changes", rows);
}

function drawBanner(view) {
  const banner = $("banner");
  const warnings = view.warnings || [];
  if (!warnings.length) { banner.hidden = true; return; }
  const critical = warnings.some((w) => /no leader|unreachable|no reachable replica/.test(w));
  banner.className = "banner" + (critical ? " critical" : "");
  const list = el("ul");
  for (const w of warnings) list.appendChild(el("li", w));
  banner.replaceChildren(el("strong", warnings.length + " warning" + (warnings.length > 1 ? "s" : "")), list);
  banner.hidden = false;
}

function draw(view) {
  $("login").hidden = true;
  $("content").hidden = false;
  const up = view.members.filter((m) => m.up).length;
  $("summary").textContent = up + " of " + view.members.length + " members up · " + view.groups.length +
    " raft groups · replication " + view.replication + " · map epoch " + view.epoch + " · served by node " + view.served_by;
  drawBanner(view);
  drawMembers(view);
  drawGroups(view);
  drawNamespaces(view);
  drawChanges(view);
  $("footer").textContent = "Updated " + time(view.at_ms) + "; refreshes every " + REFRESH_MS / 1000 + " s.";
  document.body.dataset.loaded = "true";
}

async function refresh() {
  try {
    const headers = key ? { Authorization: "Bearer " + key } : {};
    const r = await fetch("cluster", { headers, cache: "no-store" });
    if (r.status === 401 || r.status === 403) {
      $("login").hidden = false;
      $("content").hidden = true;
      $("login-error").textContent = key ? (await r.text()) : "";
      $("summary").textContent = "A key is needed.";
      return;
    }
    if (!r.ok) throw new Error(r.status + " " + (await r.text()));
    draw(await r.json());
  } catch (e) {
    $("summary").textContent = "This node does not answer: " + e.message + " (retrying)";
  }
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  key = $("key").value.trim();
  sessionStorage.setItem("strata-key", key);
  refresh();
});

refresh();
setInterval(refresh, REFRESH_MS);
