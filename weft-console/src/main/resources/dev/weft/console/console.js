// Weft console: renders the "weft.tree/1" snapshots the server streams (see docs/diagnostics.md).
"use strict";

const treeEl = document.getElementById("tree");
const alertsEl = document.getElementById("alerts");
const statusEl = document.getElementById("status");
const countsEl = document.getElementById("counts");
let starvation = null; // the last starvation report, shown for a while

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function age(ms) {
  if (ms < 10000) return ms + " ms";
  if (ms < 120000) return (ms / 1000).toFixed(1) + " s";
  return Math.round(ms / 60000) + " min";
}

function renderNode(n, marks) {
  const li = el("li");
  const box = el("span", "node");
  box.dataset.id = n.id;
  box.dataset.name = n.name;
  box.dataset.kind = n.kind;
  if (n.state) box.dataset.state = n.state;
  const classes = [];
  if (n.parked) classes.push("parked");
  if (n.blockedOn.kind === "outside" || n.blockedOn.kind === "cpu") classes.push("outside");
  if (n.blockedOn.kind === "cpuQueued") classes.push("queued");
  if (n.cancelled) classes.push("cancelled");
  if (marks.deadlocked.has(n.id)) classes.push("deadlocked");
  if (n.kind === "task" && marks.starving.has("task '" + n.name + "'")) classes.push("starving");
  classes.forEach(c => box.classList.add(c));
  box.append(el("span", "kind", n.kind), el("span", "name", n.name));
  let meta = n.id + (n.state ? " · " + n.state : "") + " · age " + age(n.ageMillis);
  if (n.timeLeftMillis !== null) meta += " · deadline in " + age(n.timeLeftMillis);
  if (n.shielded) meta += " · shielded";
  if (n.daemon) meta += " · daemon";
  box.append(el("span", "meta", meta));
  box.append(el("span", "wait", "— " + n.blockedOn.text));
  if (n.cancelled) box.append(el("span", "reason", n.cancelled.description));
  li.append(box);
  if (n.children.length) {
    const ul = el("ul");
    n.children.forEach(c => ul.append(renderNode(c, marks)));
    li.append(ul);
  }
  return li;
}

function count(nodes) {
  let c = { tasks: 0, scopes: 0 };
  const walk = n => { c[n.kind === "task" ? "tasks" : "scopes"]++; n.children.forEach(walk); };
  nodes.forEach(walk);
  return c;
}

function render(snap) {
  const deadlocked = new Set();
  snap.deadlocks.forEach(d => d.nodes.forEach(id => deadlocked.add(id)));
  const fresh = starvation && Date.now() - Date.parse(starvation.at) < 10000;
  const starving = new Set(fresh ? starvation.hogs.map(h => h.label) : []);
  const marks = { deadlocked, starving };

  alertsEl.replaceChildren();
  snap.deadlocks.forEach(d => {
    const a = el("div", "alert deadlock");
    a.dataset.kind = d.kind;
    a.append(el("h2", null, "Deadlock (" + d.kind + ")"), document.createTextNode(d.description));
    alertsEl.append(a);
  });
  if (fresh) {
    const a = el("div", "alert starvation");
    a.append(el("h2", null, "Starvation"), document.createTextNode(starvation.description));
    alertsEl.append(a);
  }

  const ul = el("ul");
  snap.roots.forEach(r => ul.append(renderNode(r, marks)));
  treeEl.replaceChildren(snap.roots.length ? ul : el("p", "empty", "no live Weft scopes"));
  const c = count(snap.roots);
  countsEl.textContent = c.scopes + " scopes · " + c.tasks + " tasks · " + new Date(snap.takenAt).toLocaleTimeString();
  document.body.dataset.updated = snap.takenAt;
}

function connect() {
  const es = new EventSource("events");
  es.addEventListener("open", () => { statusEl.textContent = "live"; statusEl.className = "status live"; });
  es.addEventListener("error", () => { statusEl.textContent = "disconnected, retrying…"; statusEl.className = "status down"; });
  es.addEventListener("starvation", e => { starvation = JSON.parse(e.data); });
  es.addEventListener("tree", e => render(JSON.parse(e.data)));
}

connect();
