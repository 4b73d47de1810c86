// socklab web: the page's side. It fetches the lab once, then follows one
// Server-Sent Events stream (/api/stream) that sends a view whenever
// something changed: node states, link counters, new packets of each link.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const MAX_ROWS = 300;
const COUNTERS = {
  userspace: ["seen", "dropped", "duplicated", "delayed"],
  netem: ["sent", "dropped", "overlimits", "requeues", "backlog"],
};
const FATES = { overlimit: "dropped (queue full)" };
let lab = null;
let topologyKey = null;
const strips = {};      // link -> rows, newest first
const lastFate = {};    // link -> flow -> fate of its previous packet
const previous = {};    // link/direction/counter -> [value, time] for rates

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function start() {
  lab = await (await fetch("/api/lab")).json();
  document.title = `socklab web: ${lab.instance}`;
  document.getElementById("lab-name").textContent = lab.instance;
  document.getElementById("lab-description").textContent = lab.description;
  const nodeSelect = document.querySelector("#capture-form select");
  for (const node of lab.nodes) nodeSelect.append(el("option", { value: node.name }, node.name));
  const stripSelect = document.getElementById("strip-link");
  for (const link of lab.links) {
    strips[link.name] = [];
    lastFate[link.name] = {};
    stripSelect.append(el("option", { value: link.name }, link.name));
    document.getElementById("links").append(linkCard(link));
  }
  stripSelect.addEventListener("change", () => { drawStrip(); markChosenLink(); });
  document.getElementById("strip-pause").addEventListener("change", drawStrip);
  document.getElementById("capture-form").addEventListener("submit", capture);
  renderNodes(lab.nodes);
  drawStrip();
  follow();
}

function follow() {
  const status = document.getElementById("connection");
  const source = new EventSource("/api/stream");
  source.onopen = () => { status.textContent = "live"; status.className = "connection live"; };
  source.onerror = () => { status.textContent = "reconnecting…"; status.className = "connection"; };
  source.onmessage = (event) => update(JSON.parse(event.data));
}

let lastUpdate = 0;
// The server sends a view only when something changed: rates older than that are over.
setInterval(() => {
  if (performance.now() - lastUpdate < 1500) return;
  for (const rate of document.querySelectorAll(".counters small")) rate.textContent = "";
}, 1000);

function update(view) {
  lastUpdate = performance.now();
  document.body.dataset.views = String(Number(document.body.dataset.views || 0) + 1);  // read by the benchmark
  renderNodes(view.nodes);
  for (const [name, state] of Object.entries(view.links)) renderLink(name, state);
  if (view.topology !== topologyKey) {
    topologyKey = view.topology;
    loadTopology(view.nodes);
  } else {
    decorateTopology(view.nodes);
  }
  for (const [name, rows] of Object.entries(view.strips)) addRows(name, rows);
  const fresh = view.strips[document.getElementById("strip-link").value] || [];
  if (fresh.length && !document.getElementById("strip-pause").checked) showNewRows(fresh);
}

// --- topology and nodes -------------------------------------------------------------------------

async function loadTopology(nodes) {
  const box = document.getElementById("topology");
  if (!lab.drawing) {
    box.textContent = "Graphviz 'dot' is not installed here, so there is no drawing; the nodes are listed below.";
    return;
  }
  const answer = await fetch("/api/topology");
  const text = await answer.text();
  if (!answer.ok) { box.textContent = JSON.parse(text).error; return; }
  box.innerHTML = text.slice(text.indexOf("<svg"));
  const svg = box.querySelector("svg");
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  for (const link of lab.links) {
    const edge = linkEdge(svg, link);
    if (!edge) continue;
    edge.classList.add("link-edge");
    edge.dataset.link = link.name;
    edge.addEventListener("click", () => {
      document.getElementById("strip-link").value = link.name;
      drawStrip();
      markChosenLink();
    });
  }
  decorateTopology(nodes);
  markChosenLink();
}

function linkEdge(svg, link) {
  // The link's edge is the last one drawn between its ends (graph.py draws links last).
  const ends = [`node:${link.a}--node:${link.b}`, `node:${link.a}--net:${link.b}`];
  const edges = [...svg.querySelectorAll("g.edge")].filter((g) => ends.includes(g.querySelector("title")?.textContent));
  return edges[edges.length - 1];
}

function markChosenLink() {
  const chosen = document.getElementById("strip-link").value;
  for (const edge of document.querySelectorAll("#topology g.link-edge")) {
    edge.classList.toggle("chosen", edge.dataset.link === chosen);
  }
}

function decorateTopology(nodes) {
  const byName = Object.fromEntries(nodes.map((n) => [`node:${n.name}`, n]));
  for (const group of document.querySelectorAll("#topology g.node")) {
    const node = byName[group.querySelector("title")?.textContent];
    if (!node) continue;
    group.classList.toggle("down", node.state !== "running");
    group.dataset.state = node.state;
  }
}

function renderNodes(nodes) {
  const body = document.querySelector("#nodes tbody");
  body.replaceChildren(...nodes.map((node) => {
    const addresses = Object.entries(node.addresses)
      .map(([net, pair]) => `${net}: ${pair.filter(Boolean).join(" ")}`).join(", ");
    return el("tr", { "data-node": node.name },
      el("td", {}, node.name), el("td", {}, node.role), el("td", {}, node.service || "-"),
      el("td", { class: `state ${node.state}` }, node.state), el("td", {}, addresses || "-"));
  }));
}

// --- links: counters and controls ---------------------------------------------------------------

function linkCard(link) {
  const card = el("section", { class: "card link", "data-link": link.name });
  card.append(el("h2", {}, `Link ${link.name} `, el("small", {}, `${link.a} ↔ ${link.b}, backend ${link.backend}`)));
  card.append(el("p", { class: "note status" }));
  card.append(el("table", { class: "counters" }));
  if (link.note) card.append(el("p", { class: "note" }, link.note));
  const form = el("form", { class: "controls" });
  const direction = el("select", { name: "direction" },
    el("option", { value: "" }, "both directions"),
    el("option", { value: "forward" }, `forward ${link.directions[0]}`),
    el("option", { value: "reverse" }, `reverse ${link.directions[1]}`));
  form.append(direction);
  for (const [name, hint] of [["loss", "10%"], ["delay", "50ms"], ["duplicate", "1%"], ["seed", "1"]]) {
    form.append(el("label", {}, `${name} `, el("input", { name, placeholder: hint })));
  }
  form.append(el("button", { type: "submit" }, "Set"));
  form.addEventListener("submit", (event) => { event.preventDefault(); setLink(link.name, form, card); });
  card.append(form, el("p", { class: "message" }));
  return card;
}

function renderLink(name, state) {
  const card = document.querySelector(`.link[data-link="${name}"]`);
  if (!card) return;
  const seed = state.seed === null || state.seed === undefined ? "" : `, seed ${state.seed}`;
  card.querySelector(".status").textContent = `daemon ${state.daemon}${seed}`;
  const names = COUNTERS[state.backend] || COUNTERS.userspace;
  const table = card.querySelector(".counters");
  const now = performance.now() / 1000;
  const rows = Object.entries(state.directions).map(([direction, figures]) => {
    const counters = figures.counters || {};
    const cells = names.map((counter) => {
      const value = counters[counter] ?? 0;
      const key = `${name}/${direction}/${counter}`;
      const [before, then] = previous[key] || [value, now];
      previous[key] = [value, now];
      const rate = now > then ? Math.max(0, (value - before) / (now - then)) : 0;
      return el("td", { class: "num", "data-counter": counter },
        String(value), el("br"), el("small", {}, Math.round(rate) ? `${Math.round(rate)}/s` : ""));
    });
    return el("tr", { "data-direction": direction },
      el("td", {}, direction), el("td", {}, describe(figures.params || {})), ...cells);
  });
  table.replaceChildren(el("tr", {}, el("th", {}, "direction"), el("th", {}, "now"),
    ...names.map((n) => el("th", { class: "num" }, n))), ...rows);
}

function describe(params) {
  const parts = [];
  if (params.loss_model === "gilbert-elliott") parts.push(`GE p=${params.ge_p}% r=${params.ge_r}%`);
  else if (params.loss) parts.push(`loss ${params.loss}%`);
  if (params.delay_ms) parts.push(`delay ${params.delay_ms}ms` + (params.jitter_ms ? `±${params.jitter_ms}ms` : ""));
  for (const key of ["duplicate", "reorder", "corrupt"]) if (params[key]) parts.push(`${key} ${params[key]}%`);
  if (params.rate) parts.push(`rate ${params.rate}`);
  return parts.join(" ") || "clean";
}

async function setLink(name, form, card) {
  const message = card.querySelector(".message");
  const body = Object.fromEntries([...new FormData(form)].filter(([, value]) => value !== ""));
  const answer = await fetch(`/api/link/${encodeURIComponent(name)}?token=${encodeURIComponent(token)}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const result = await answer.json();
  message.className = answer.ok ? "message ok" : "message error";
  message.textContent = answer.ok ? result.message : result.error;
}

// --- the packet strip ---------------------------------------------------------------------------

function addRows(name, rows) {
  // rows come newest first; a packet of a flow whose previous packet was dropped is marked
  const flows = lastFate[name];
  for (const row of [...rows].reverse()) {
    if (row.skipped === undefined) {
      const flow = [row.dir, row.proto, row.src, row.sport, row.dst, row.dport].join("|");
      row.afterDrop = flows[flow] === "dropped" && row.fate !== "dropped";
      flows[flow] = row.fate;
    }
    strips[name].unshift(row);
  }
  strips[name].length = Math.min(strips[name].length, MAX_ROWS);
}

function drawStrip() {
  const name = document.getElementById("strip-link").value;
  const link = lab.links.find((l) => l.name === name);
  const note = document.getElementById("strip-note");
  note.textContent = link && link.backend === "netem" ? link.note
    : `The newest ${MAX_ROWS} packets, newest first, as the link daemon decided them; ` +
      "at high rates the view takes the newest 100 each quarter second and says how many it skipped.";
  const body = document.querySelector("#strip tbody");
  body.replaceChildren(...(strips[name] || []).map(stripRow));
}

function showNewRows(rows) {
  // only the new rows are made: at 10,000 packets/s the page adds about 400 rows a second, not 1,200
  const body = document.querySelector("#strip tbody");
  body.prepend(...rows.map(stripRow));
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
}

function stripRow(row) {
  if (row.skipped !== undefined) {
    return el("tr", { class: "skipped" }, el("td", { colspan: "8" }, `… ${row.skipped} packets not shown …`));
  }
  const when = new Date(row.time * 1000);
  const time = when.toLocaleTimeString([], { hour12: false }) + "." + String(when.getMilliseconds()).padStart(3, "0");
  const end = (address, port) => (port === null ? address : `${address}:${port}`);
  let fate = FATES[row.fate] || row.fate;
  if (row.delay_ms > 0) fate += row.fate === "delayed" ? ` ${row.delay_ms} ms` : `, +${row.delay_ms} ms`;
  return el("tr", { "data-fate": row.fate, "data-seq": String(row.seq) },
    el("td", {}, time), el("td", {}, row.dir), el("td", {}, String(row.proto)),
    el("td", {}, end(row.src, row.sport)), el("td", {}, end(row.dst, row.dport)),
    el("td", { class: "num" }, String(row.size)), el("td", {}, el("span", { class: `fate ${row.fate}` }, fate)),
    el("td", { class: "retry", title: "the previous packet of this flow was dropped: a retry, if the sender resends" },
      row.afterDrop ? "↻ after a drop" : ""));
}

// --- capture ------------------------------------------------------------------------------------

async function capture(event) {
  event.preventDefault();
  const form = event.target;
  const message = document.getElementById("capture-message");
  const node = form.node.value;
  const seconds = form.seconds.value;
  const button = form.querySelector("button");
  button.disabled = true;
  message.className = "message";
  message.textContent = `capturing on ${node} for ${seconds} s…`;
  try {
    const query = new URLSearchParams({ node, seconds, token });
    const answer = await fetch(`/api/capture?${query}`);
    if (!answer.ok) {
      message.className = "message error";
      message.textContent = (await answer.json()).error;
      return;
    }
    const blob = await answer.blob();
    const disposition = answer.headers.get("Content-Disposition") || "";
    const filename = (disposition.match(/filename="([^"]+)"/) || [])[1] || "capture.pcap";
    const link = el("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    message.className = "message ok";
    message.textContent = `downloaded ${filename} (${blob.size} bytes): open it with Wireshark`;
  } finally {
    button.disabled = false;
  }
}

start();
