// The playground page: two editors, and the engine's answers in six views — the plan, its
// nodes, why each workload goes where it goes, what-if scenarios, consolidation of a
// snapshot and a simulated day. The engine runs in a Web Worker (client.js); every edit
// cancels the run still going and starts a new one. The state lives in the URL fragment.
import { Cancelled, Engine } from "./client.js";
import { EXAMPLES } from "./examples.js";
import * as share from "./share.js";
import { barChart, lineChart, meter } from "./charts.js";
import { createEditor, findObject, goToLine, readFiles, setText, text } from "./editor.js";

const $ = (id) => document.getElementById(id);

/** Instance families of the what-if presets (karpenter.k8s.aws/instance-family values). */
const FAMILIES = {
  graviton: ["c6g", "c6gd", "c6gn", "c7g", "c7gd", "c7gn", "c8g", "m6g", "m6gd", "m7g", "m7gd", "m8g", "r6g", "r6gd", "r7g", "r7gd", "r8g", "t4g", "g5g"],
  intel: ["c5", "c5d", "c5n", "c6i", "c6id", "c6in", "c7i", "c7i-flex", "m5", "m5d", "m5n", "m6i", "m6id", "m6in", "m7i", "m7i-flex", "r5", "r5d", "r5n", "r6i", "r6id", "r6in", "r7i", "t3", "g4dn", "g5", "g6", "p3", "p4d"],
  amd: ["c5a", "c5ad", "c6a", "c7a", "m5a", "m5ad", "m6a", "m7a", "r5a", "r5ad", "r6a", "r7a", "t3a", "g4ad"],
};
/** Instance types offered for the Cluster Autoscaler comparison (any other may be typed). */
const CA_TYPES = ["m5.large", "m5.xlarge", "m5.2xlarge", "m5.4xlarge", "m6i.xlarge", "m6i.2xlarge", "c6i.2xlarge",
  "r6i.xlarge", "m7g.xlarge", "m7g.2xlarge", "g5.xlarge", "g6.2xlarge"];
const HOURS_PER_MONTH = 730;
const SPOT_GRID = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

const DEFAULTS = {
  example: "webshop",
  workloads: "",
  nodepools: "",
  region: "us-east-1",
  discount: 0,
  replicas: 1,
  requests: 1,
  spot: null,
  families: "",
  ca: "m5.xlarge",
  now: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  consolidation: "optimize",
  shape: "diurnal",
  simConsolidation: "optimize",
  tab: "plan",
};

let state = { ...DEFAULTS };
let engine;
let defaultNodePool;
let editors;
/** Answers of the current input, by job name: {ok} or {error}. */
let results = {};
let generation = 0;

// --- formatting ------------------------------------------------------------------------------

let currency = "USD";
const money = (x, digits) => {
  const d = digits ?? (Math.abs(x) >= 100 ? 2 : Math.abs(x) >= 1 ? 3 : 4);
  return new Intl.NumberFormat("en-US", { style: "currency", currency, minimumFractionDigits: d, maximumFractionDigits: d }).format(x);
};
const perMonth = (x) => money(x * HOURS_PER_MONTH, 2);
const percent = (x) => `${Math.round(x * 100)}%`;
const signed = (x, f) => (x > 0 ? "+" : x < 0 ? "−" : "±") + f(Math.abs(x));

function element(tag, content, className) {
  const e = document.createElement(tag);
  if (content !== undefined && content !== null) {
    if (content instanceof Node) e.append(content);
    else e.textContent = String(content);
  }
  if (className) e.className = className;
  return e;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = c instanceof Node && c.nodeName === "TD" ? c : element("td", c);
    tr.append(td);
  }
  return tr;
}
const num = (content) => element("td", content, "num");

function card(term, value, detail, data = {}) {
  const box = element("div", null, "card");
  const dd = element("dd", value);
  for (const [k, v] of Object.entries(data)) dd.dataset[k] = String(v);
  box.append(element("dt", term), dd);
  if (detail) box.append(element("dd", detail, "detail"));
  return box;
}

// --- input and state -------------------------------------------------------------------------

function input() {
  const sources = [];
  for (const name of ["workloads", "nodepools"]) {
    const value = text(editors[name]);
    if (value.trim() !== "") sources.push({ name, text: value });
  }
  const result = { sources, region: state.region };
  if (state.discount > 0) result.prices = JSON.stringify({ onDemandDiscountPercent: state.discount });
  return result;
}

/** A NodePool of one on-demand instance type: a Cluster Autoscaler node group. */
function nodeGroup(type) {
  return `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: node-group
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - key: node.kubernetes.io/instance-type
          operator: In
          values: [${JSON.stringify(type)}]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["on-demand"]
`;
}

function scenario() {
  const s = {};
  if (state.replicas !== 1) s.replicas = state.replicas;
  if (state.requests !== 1) s.requests = state.requests;
  if (state.spot !== null) s.spot_share = state.spot;
  if (state.families) s.families = FAMILIES[state.families];
  return s;
}

/** What each view needs, by job name, and how to get it. */
const JOBS = {
  plan: { label: "planning", run: () => engine.call("plan", input(), { mode: "optimize" }) },
  karpenter: { label: "planning as Karpenter", run: () => engine.call("plan", input(), { mode: "karpenter" }) },
  ca: {
    label: "planning a node group",
    run: () => {
      const i = input();
      i.sources = i.sources.filter((s) => s.name !== "nodepools").concat([{ name: "node group", text: nodeGroup(state.ca) }]);
      return engine.call("plan", i, { mode: "optimize" });
    },
  },
  explain: { label: "explaining", run: () => engine.call("explain", input(), { top: 3 }) },
  sweep: {
    label: "sweeping scenarios",
    run: () => {
      const s = scenario();
      const scenarios = [{}, s, ...SPOT_GRID.map((spot) => ({ ...s, spot_share: spot }))];
      return engine.call("sweep", input(), { scenarios });
    },
  },
  consolidate: {
    label: "consolidating",
    run: () => engine.call("consolidate", input(), { now: state.now, mode: state.consolidation }),
  },
  simulate: {
    label: "simulating a day",
    run: () => engine.call("simulate", input(), { generate: state.shape, days: 1, consolidation: state.simConsolidation }),
  },
};
const NEEDS = {
  plan: ["plan", "karpenter", "ca"],
  nodes: ["plan"],
  why: ["plan", "explain"],
  whatif: ["plan", "sweep"],
  consolidate: ["plan", "consolidate"],
  simulate: ["plan", "simulate"],
};

/** Forgets the answers `keys` (all when none given) and computes what the open view needs. */
function invalidate(...keys) {
  if (keys.length === 0) results = {};
  for (const k of keys) delete results[k];
  saveState();
  update();
}

let progressTimer = null;
function setBusy(label, step, steps, started) {
  document.body.dataset.state = "busy";
  const bar = $("progress-bar");
  bar.hidden = false;
  bar.max = steps;
  bar.value = step;
  const show = () => {
    $("status").textContent = `${label}… (${step + 1} of ${steps}, ${((performance.now() - started) / 1000).toFixed(1)} s)`;
  };
  show();
  clearInterval(progressTimer);
  progressTimer = setInterval(show, 200);
}
function setIdle(message, stateName) {
  clearInterval(progressTimer);
  $("progress-bar").hidden = true;
  $("status").textContent = message;
  document.body.dataset.state = stateName;
}

async function update() {
  const gen = ++generation;
  document.body.dataset.generation = String(gen);
  engine.cancel();
  const todo = NEEDS[state.tab].filter((k) => !(k in results));
  if (todo.length === 0) {
    setIdle(statusLine(), results.plan?.error ? "error" : "ready");
    return;
  }
  const started = performance.now();
  for (const [i, key] of todo.entries()) {
    if (key !== "plan" && results.plan?.error) break;
    setBusy(JOBS[key].label, i, todo.length, started);
    let outcome;
    try {
      outcome = { ok: await JOBS[key].run() };
    } catch (error) {
      if (error instanceof Cancelled || gen !== generation) return;
      outcome = { error };
    }
    if (gen !== generation) return;
    results[key] = outcome;
    try {
      render(key);
    } catch (error) {
      // A bug of this page, not of the input: said on the console, and the other views go on.
      console.error(`showing ${key} failed:`, error);
    }
  }
  const ms = Math.round(performance.now() - started);
  setIdle(results.plan?.error ? "the input has an error" : `${statusLine()} · ${ms} ms`, results.plan?.error ? "error" : "ready");
}

function statusLine() {
  const plan = results.plan?.ok;
  if (!plan) return "";
  return `${plan.nodes.length} new nodes, ${money(plan.cost_per_hour)}/h`;
}

// --- errors ------------------------------------------------------------------------------

/** A link to `line` of editor `source`, or nothing when the source is not an editor. */
function lineLink(source, line) {
  if (!(source in editors) || !line) return null;
  const link = element("a", `${source}:${line}`, "line-link");
  link.href = `#${source}:${line}`;
  link.dataset.source = source;
  link.dataset.line = String(line);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    goToLine(editors[source], line);
  });
  return link;
}

function showErrors(error) {
  const box = $("errors");
  if (!error) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const list = element("ul");
  const problems = error.errors?.length ? error.errors : [{ message: error.message, source: error.source, line: error.line }];
  for (const p of problems) {
    const item = element("li");
    const link = lineLink(p.source, p.line);
    if (link) item.append(link, " ");
    item.append(p.message);
    list.append(item);
  }
  box.replaceChildren(element("strong", lastPlan ? "The input has an error; the views show the last plan that worked." : "The input has an error."), list);
  box.hidden = false;
}

// --- rendering ---------------------------------------------------------------------------

let lastPlan = null;

function render(key) {
  const outcome = results[key];
  if (key === "plan") {
    showErrors(outcome.error);
    document.body.classList.toggle("stale", Boolean(outcome.error));
    $("plan-stale").hidden = !outcome.error || !lastPlan;
    if (outcome.ok) {
      lastPlan = outcome.ok;
      currency = outcome.ok.currency;
      renderPlan(outcome.ok);
      renderNodes(outcome.ok);
      if (!performance.getEntriesByName("fleetfit:first-plan").length) performance.mark("fleetfit:first-plan");
    }
    return;
  }
  const target = { karpenter: renderCompare, ca: renderCompare, explain: renderWhy, sweep: renderWhatIf, consolidate: renderConsolidation, simulate: renderSimulation }[key];
  target();
}

/** New nodes grouped as the CLI's table groups them: NodePool, type, capacity, zone. */
function groups(nodes) {
  const byKey = new Map();
  for (const n of nodes) {
    const key = [n.nodepool, n.instance_type, n.capacity_type, n.zone].join("\u0000");
    const g = byKey.get(key) ?? { ...n, count: 0, cpu: 0, memory: 0 };
    g.count += 1;
    g.cpu += n.utilisation.cpu;
    g.memory += n.utilisation.memory;
    byKey.set(key, g);
  }
  return [...byKey.values()].sort((a, b) => a.nodepool.localeCompare(b.nodepool) || a.instance_type.localeCompare(b.instance_type) ||
    a.capacity_type.localeCompare(b.capacity_type) || a.zone.localeCompare(b.zone));
}

/** The line where a pod's workload is written: its own name, or its owner's (name-0, name-abcde). */
function podLine(pod) {
  const name = pod.split("/").pop();
  const candidates = [name, name.replace(/-\d+$/, ""), name.replace(/-[a-z0-9]{5}$/, ""), name.replace(/-[a-z0-9]{8,10}-[a-z0-9]{5}$/, "")];
  for (const c of candidates) {
    const line = findObject(text(editors.workloads), null, c);
    if (line) return line;
  }
  return null;
}

function renderPlan(plan) {
  const pods = plan.nodes.reduce((sum, n) => sum + n.pods.length, 0);
  const summary = $("summary");
  summary.dataset.cost = String(plan.cost_per_hour);
  summary.dataset.nodes = String(plan.nodes.length);
  summary.dataset.unschedulable = String(plan.unschedulable.length);
  summary.dataset.pods = String(pods);
  summary.replaceChildren(
    card("cost", `${money(plan.cost_per_hour)}/h`, `${perMonth(plan.cost_per_hour)}/month`, { value: plan.cost_per_hour }),
    card("new nodes", String(plan.nodes.length), `${pods} pods; ${plan.existing.length} on existing nodes`),
    card("unschedulable", String(plan.unschedulable.length), plan.unschedulable.length ? "pods no NodePool can host" : "every pod is placed"),
    card("lower bound", `${money(plan.lower_bound_per_hour)}/h`, plan.gap === null ? "no plan could cost less" : `gap ${(plan.gap * 100).toFixed(1)}%: no plan costs less than this`),
    card("Karpenter", plan.karpenter_cost_per_hour === null ? "—" : `${money(plan.karpenter_cost_per_hour)}/h`,
      plan.karpenter_cost_per_hour ? `${perMonth(plan.karpenter_cost_per_hour)}/month; this plan ${Math.round((1 - plan.cost_per_hour / plan.karpenter_cost_per_hour) * 100)}% less` : "the same pods as Karpenter decides"),
    card("utilisation", `cpu ${percent(plan.utilisation.cpu)}`, `memory ${percent(plan.utilisation.memory)} of the new nodes`),
  );

  const body = $("groups").tBodies[0];
  body.replaceChildren();
  for (const g of groups(plan.nodes)) {
    body.append(row([num(g.count), g.instance_type, g.capacity_type, g.zone, g.nodepool, num(money(g.price_per_hour)),
      num(money(g.price_per_hour * g.count)), element("td", meter(g.cpu / g.count, "cpu")), element("td", meter(g.memory / g.count, "mem"))]));
  }
  if (!plan.nodes.length) body.append(row([element("td", "no new nodes are needed")]));

  const box = $("unschedulable");
  box.replaceChildren();
  if (plan.unschedulable.length) {
    box.append(element("h2", `Unschedulable pods (${plan.unschedulable.length})`));
    const list = element("ul", null, "unschedulable");
    for (const u of plan.unschedulable) {
      const item = element("li");
      const head = element("div", null, "pod");
      head.append(element("code", u.pod));
      const link = lineLink("workloads", podLine(u.pod));
      if (link) head.append(" ", link);
      const reasons = element("ul");
      for (const r of u.reasons) reasons.append(element("li", r));
      item.append(head, reasons);
      list.append(item);
    }
    box.append(list);
  }
  $("notes").replaceChildren(...[...plan.warnings.map((w) => `warning: ${w}`), ...plan.notes].map((n) => element("li", n)));
  renderCompare();
}

function renderCompare() {
  const plan = results.plan?.ok ?? lastPlan;
  if (!plan) return;
  const rows = [
    { label: "lower bound", value: plan.lower_bound_per_hour, className: "bound" },
    { label: "fleetfit", value: plan.cost_per_hour, className: "ours" },
  ];
  const k = results.karpenter?.ok;
  if (k) rows.push({ label: "Karpenter", value: k.cost_per_hour, className: "karpenter", note: k.unschedulable.length ? `${k.unschedulable.length} unschedulable` : "" });
  const ca = results.ca;
  if (ca?.ok) {
    rows.push({ label: `node group ${state.ca}`, value: ca.ok.cost_per_hour, className: "ca",
      note: `${ca.ok.nodes.length} nodes` + (ca.ok.unschedulable.length ? `, ${ca.ok.unschedulable.length} unschedulable` : "") });
  }
  const box = $("compare");
  box.replaceChildren(barChart(rows, { format: (x) => `${money(x)}/h`, title: "cost per hour compared" }));
  if (ca?.error) box.append(element("p", `node group ${state.ca}: ${ca.error.message}`, "panel-error"));

  const body = $("karpenter-groups").tBodies[0];
  body.replaceChildren();
  if (k) {
    for (const g of groups(k.nodes)) {
      body.append(row([num(g.count), g.instance_type, g.capacity_type, g.zone, g.nodepool, num(money(g.price_per_hour)), num(money(g.price_per_hour * g.count))]));
    }
  }
}

function renderNodes(plan) {
  const list = $("node-list");
  list.replaceChildren();
  for (const n of plan.nodes) {
    const box = element("article", null, "node");
    const head = element("header");
    head.append(element("strong", n.instance_type), element("span", `${n.capacity_type} · ${n.zone} · ${n.nodepool}`, "muted"),
      element("span", `${money(n.price_per_hour)}/h`, "price"));
    const bars = element("div", null, "bars");
    bars.append(meter(n.utilisation.cpu, "cpu"), meter(n.utilisation.memory, "mem"));
    const detail = element("div", `${n.name}: requests cpu ${n.requests.cpu ?? 0} of ${n.allocatable.cpu}, memory ${n.requests.memory ?? 0} of ${n.allocatable.memory}`, "muted small");
    const pods = element("ul", null, "pods");
    for (const p of n.pods) pods.append(element("li", p.split("/").pop()));
    box.append(head, bars, detail, pods);
    list.append(box);
  }
  if (!plan.nodes.length) list.append(element("p", "No new nodes: every placed pod fits on an existing node."));
  const existing = $("existing");
  existing.replaceChildren();
  const nodes = plan.existing_nodes ?? [];
  if (nodes.length) {
    const byNode = new Map();
    for (const e of plan.existing) byNode.set(e.node, [...(byNode.get(e.node) ?? []), e.pod]);
    const placed = plan.existing.length
      ? `with the ${plan.existing.length} pending pod${plan.existing.length === 1 ? "" : "s"} placed on them (+)`
      : "none of the pending pods goes on them (the Why tab says why)";
    existing.append(element("h2", `Existing nodes (${nodes.length}), ${placed}`));
    const grid = element("div", null, "node-list");
    for (const n of nodes) {
      const box = element("article", null, n.schedulable ? "node existing-node" : "node existing-node cordoned");
      const head = element("header");
      const where = [n.capacity_type, n.zone, n.schedulable ? null : "cordoned or deleting"].filter(Boolean).join(" · ");
      head.append(element("strong", n.instance_type ?? n.name), element("span", where, "muted"));
      const bars = element("div", null, "bars");
      bars.append(meter(n.utilisation.cpu, "cpu"), meter(n.utilisation.memory, "mem"));
      const detail = element("div", `${n.name}: ${n.pods} pods running, ${n.placed} placed; requests cpu ${n.requests.cpu ?? 0} of ${n.allocatable.cpu ?? 0}, memory ${n.requests.memory ?? 0} of ${n.allocatable.memory ?? 0}`, "muted small");
      const pods = element("ul", null, "pods");
      for (const p of byNode.get(n.name) ?? []) pods.append(element("li", `+ ${p.split("/").pop()}`));
      box.append(head, bars, detail, pods);
      grid.append(box);
    }
    existing.append(grid);
  }
}

function panelError(box, error, hint) {
  const p = element("div", null, "panel-error");
  p.append(element("p", error.message));
  if (hint) p.append(element("p", hint, "muted"));
  box.replaceChildren(p);
}

function renderWhy() {
  const box = $("why");
  const outcome = results.explain;
  if (outcome.error) return panelError(box, outcome.error);
  const explanation = outcome.ok;
  box.replaceChildren();
  const pools = element("p", `${explanation.pending_pods} pending pods; NodePools: ` +
    explanation.nodepools.map((p) => `${p.name} (${p.instance_types_allowed} of ${p.instance_types_total} types)`).join(", ") +
    (explanation.default_nodepool ? " — the default NodePool" : ""), "muted");
  box.append(pools);
  for (const w of explanation.workloads) {
    const details = element("details", null, `workload ${w.schedulable ? "" : "unschedulable"}`);
    details.open = !w.schedulable;
    const summary = element("summary");
    summary.append(element("strong", w.name), ` — ${w.pods} pods of ${Object.entries(w.requests).filter(([k]) => k !== "pods").map(([k, v]) => `${k} ${v}`).join(", ")}; `,
      w.schedulable ? `${w.candidates} candidates` : element("span", "unschedulable", "bad"));
    const line = findObject(text(editors.workloads), w.workload.kind, w.workload.name);
    const link = lineLink("workloads", line);
    if (link) summary.append(" ", link);
    details.append(summary);
    details.append(element("p", `${w.candidates} NodePool × instance type candidates, ${w.instance_types} instance types, NodePools: ${w.nodepools.join(", ") || "none"}`, "muted"));
    if (w.cheapest.length) {
      const table = element("table", null, "data");
      table.append(element("thead"));
      table.tHead.append(row(["NodePool", "instance type", "capacity", "each/h", "pods/node", "per pod/h", "limited by"].map((h) => element("th", h))));
      const body = element("tbody");
      for (const c of w.cheapest) {
        body.append(row([c.nodepool, c.instance_type, c.capacity_type, num(money(c.price_per_hour)), num(c.pods_per_node), num(money(c.price_per_pod_hour)), c.limited_by ?? "—"]));
      }
      table.append(body);
      details.append(element("h3", "Cheapest options"), table);
    }
    if (w.rejections.length) {
      const byKind = new Map();
      for (const r of w.rejections) {
        const kind = r.reason?.kind ?? "other";
        byKind.set(kind, [...(byKind.get(kind) ?? []), r]);
      }
      details.append(element("h3", "Ruled out"));
      const ul = element("ul", null, "rejections");
      for (const [kind, list] of byKind) {
        const total = list.reduce((s, r) => s + (r.instance_types ?? 0), 0);
        const li = element("li");
        li.append(element("strong", `${kind.replaceAll("_", " ")}`), ` — ${total} instance types`);
        const inner = element("ul");
        for (const r of list) {
          inner.append(element("li", `${r.nodepool ? `${r.nodepool}: ` : ""}${r.message}` +
            (r.instance_types ? ` (${r.instance_types} types${r.examples?.length ? `, e.g. ${r.examples.join(", ")}` : ""})` : "")));
        }
        li.append(inner);
        ul.append(li);
      }
      details.append(ul);
    }
    box.append(details);
  }
}

function renderWhatIf() {
  const outcome = results.sweep;
  const table = $("whatif-table").tBodies[0];
  const chart = $("spot-chart");
  if (outcome.error) {
    table.replaceChildren();
    return panelError(chart, outcome.error);
  }
  const [base, s, ...grid] = outcome.ok;
  $("whatif-table").dataset.base = String(base.cost_per_hour);
  $("whatif-table").dataset.scenario = String(s.cost_per_hour);
  const line = (label, a, b, f) => row([label, num(f(a)), num(f(b)), num(a === b ? "—" : signed(b - a, f))]);
  table.replaceChildren(
    line("cost per hour", base.cost_per_hour, s.cost_per_hour, money),
    line("cost per month", base.cost_per_hour * HOURS_PER_MONTH, s.cost_per_hour * HOURS_PER_MONTH, (x) => money(x, 2)),
    line("lower bound per hour", base.lower_bound_per_hour, s.lower_bound_per_hour, money),
    line("nodes", base.nodes, s.nodes, String),
    line("spot nodes", base.spot_nodes, s.spot_nodes, String),
    line("pods", base.pods, s.pods, String),
    line("unschedulable pods", base.unschedulable, s.unschedulable, String),
  );
  const note = (p, i) => ({
    title: `${Math.round(SPOT_GRID[i] * 100)}% of pods pinned to spot: ${money(p.cost_per_hour)}/h, ${p.nodes} nodes (${p.spot_nodes} spot)` +
      (p.unschedulable ? `, ${p.unschedulable} pods unschedulable` : ""),
    warn: p.unschedulable > s.unschedulable,
  });
  const stranded = grid.filter((p) => p.unschedulable > s.unschedulable);
  chart.replaceChildren(lineChart([
    { name: "cost", points: grid.map((p, i) => [SPOT_GRID[i], p.cost_per_hour, note(p, i)]), className: "ours" },
    { name: "bound", points: grid.map((p, i) => [SPOT_GRID[i], p.lower_bound_per_hour]), className: "bound" },
  ], { formatX: (x) => `${Math.round(x * 100)}% spot`, formatY: (y) => money(y, 2), title: "cost per hour over the share of pods pinned to spot" }),
  element("p", "Cost per hour (blue) and its lower bound (grey) as the share of each workload's pods pinned to spot grows (the rest pinned to on-demand), with the scenario's other settings." +
    (stranded.length ? ` Red points leave more pods unschedulable than the scenario (up to ${Math.max(...stranded.map((p) => p.unschedulable))} pods), which is part of why they cost less.` : ""), "muted small"));
}

function renderConsolidation() {
  const box = $("consolidation");
  const outcome = results.consolidate;
  if (outcome.error) {
    return panelError(box, outcome.error, "Consolidation needs a cluster snapshot (nodes and their pods, as `kubectl get nodes,pods -A -o json` prints them): pick the cluster snapshot example, or paste your own.");
  }
  const c = outcome.ok;
  box.replaceChildren();
  const cards = element("dl", null, "cards");
  cards.dataset.savings = String(c.savings_per_hour);
  cards.append(
    card("before", `${money(c.cost_per_hour_before)}/h`, `${perMonth(c.cost_per_hour_before)}/month`),
    card("after", `${money(c.cost_per_hour_after)}/h`, `${perMonth(c.cost_per_hour_after)}/month`),
    card("savings", `${money(c.savings_per_hour)}/h`, `${perMonth(c.savings_per_hour)}/month`),
  );
  if (c.karpenter_savings_per_hour !== undefined) cards.append(card("Karpenter's rules alone", `${money(c.karpenter_savings_per_hour)}/h`, `${perMonth(c.karpenter_savings_per_hour)}/month`));
  box.append(cards);
  box.append(element("h2", `Commands (${c.commands.length})`));
  if (c.commands.length) {
    const table = element("table", null, "data");
    table.append(element("thead"));
    table.tHead.append(row(["#", "method", "action", "nodes", "replacement", "pods moved", "saves/h"].map((h) => element("th", h))));
    const body = element("tbody");
    c.commands.forEach((cmd, i) => {
      body.append(row([num(i + 1), cmd.method, cmd.action,
        cmd.candidates.map((n) => `${n.node} (${n.instance_type} ${n.capacity_type})`).join(", "),
        cmd.replacements.map((r) => `${r.instance_type} ${r.capacity_type}`).join(", ") || "—",
        num(cmd.moves.length), num(money(cmd.savings_per_hour))]));
    });
    table.append(body);
    box.append(table);
    const commands = element("pre", c.commands.map((cmd) => cmd.action === "delete"
      ? cmd.candidates.map((n) => `kubectl delete node ${n.node}`).join("\n")
      : `# replace ${cmd.candidates.map((n) => n.node).join(", ")} with ${cmd.replacements.map((r) => `${r.instance_type} (${r.capacity_type})`).join(", ")}\n` +
        cmd.candidates.map((n) => `kubectl delete node ${n.node}`).join("\n")).join("\n"), "commands");
    const details = element("details");
    details.append(element("summary", "As kubectl commands"), commands);
    box.append(details);
  } else box.append(element("p", "Nothing to consolidate now.", "muted"));
  box.append(element("h2", `Nodes that stay (${c.kept.length})`));
  const kept = element("ul", null, "kept");
  for (const k of c.kept) {
    const li = element("li");
    li.append(element("code", k.node), ` (${k.nodepool || "no NodePool"}): ${k.reasons.join("; ")}`);
    kept.append(li);
  }
  box.append(kept);
}

function renderSimulation() {
  const box = $("simulation");
  const outcome = results.simulate;
  if (outcome.error) return panelError(box, outcome.error);
  const t = outcome.ok;
  const at = (s) => Date.parse(s.at);
  const hour = (x) => new Date(Math.round(x / 3_600_000) * 3_600_000).toISOString().slice(11, 16);
  const cards = element("dl", null, "cards");
  cards.dataset.cost = String(t.totals.cost);
  cards.append(
    card("cost of the day", money(t.totals.cost, 2), `${t.totals.node_hours.toFixed(1)} node-hours`),
    card("most nodes", String(t.totals.max_nodes), `peak ${money(t.totals.max_cost_per_hour)}/h`),
    card("launches", String(t.totals.launches), `${t.totals.terminations} terminations, ${t.totals.evictions} evictions`),
    card("pending", `${Math.round(t.totals.pending_pod_seconds / 60)} pod-min`, "time pods waited for a node"),
  );
  box.replaceChildren(cards,
    element("h2", "Cost per hour"),
    lineChart([{ name: "cost", points: t.steps.map((s) => [at(s), s.cost_per_hour]), className: "ours" }], { formatX: hour, formatY: (y) => money(y, 2), step: true, title: "cost per hour over the day" }),
    element("h2", "Nodes (blue) and spot nodes (green)"),
    lineChart([
      { name: "nodes", points: t.steps.map((s) => [at(s), s.nodes]), className: "ours" },
      { name: "spot", points: t.steps.map((s) => [at(s), s.spot_nodes]), className: "spot" },
    ], { formatX: hour, formatY: (y) => y.toFixed(0), step: true, title: "nodes over the day" }),
    element("p", `${t.steps.length} steps of the generated day.`, "muted small"));
  const notes = element("ul", null, "notes");
  for (const n of [...t.warnings.map((w) => `warning: ${w}`), ...t.notes]) notes.append(element("li", n));
  box.append(notes);
}

// --- export and share --------------------------------------------------------------------

function planCsv(plan) {
  const header = ["name", "nodepool", "instance_type", "capacity_type", "zone", "price_per_hour", "pods", "cpu_utilisation", "memory_utilisation"];
  const quote = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  const lines = plan.nodes.map((n) => [n.name, n.nodepool, n.instance_type, n.capacity_type, n.zone, n.price_per_hour, n.pods.length, n.utilisation.cpu, n.utilisation.memory].map(quote).join(","));
  return [header.join(","), ...lines].join("\n") + "\n";
}

function planMarkdown(plan) {
  const lines = [
    `**${money(plan.cost_per_hour)}/h** (${perMonth(plan.cost_per_hour)}/month) for ${plan.nodes.length} new nodes in ${plan.region}; ` +
      `lower bound ${money(plan.lower_bound_per_hour)}/h` + (plan.gap === null ? "" : `, gap ${(plan.gap * 100).toFixed(1)}%`) +
      (plan.unschedulable.length ? `; ${plan.unschedulable.length} pods unschedulable` : ""),
    "",
    "| count | instance type | capacity | zone | NodePool | each/h | total/h |",
    "|---:|---|---|---|---|---:|---:|",
    ...groups(plan.nodes).map((g) => `| ${g.count} | ${g.instance_type} | ${g.capacity_type} | ${g.zone} | ${g.nodepool} | ${money(g.price_per_hour)} | ${money(g.price_per_hour * g.count)} |`),
  ];
  return lines.join("\n") + "\n";
}

function download(name, body, type) {
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = element("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function copy(what, body, name, type) {
  try {
    await navigator.clipboard.writeText(body);
    flash(`copied ${what}`);
  } catch {
    download(name, body, type);
    flash(`downloaded ${name} (the clipboard is not available)`);
  }
}

function flash(message) {
  const status = $("status");
  status.textContent = message;
}

let saveTimer = null;
function saveState() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(async () => {
    const fragment = await share.encode(currentState());
    history.replaceState(null, "", `#${fragment}`);
    document.body.dataset.saved = String(generation);
  }, 200);
}

function currentState() {
  return { ...state, workloads: text(editors.workloads), nodepools: text(editors.nodepools) };
}

// --- controls ----------------------------------------------------------------------------

function selectTab(tab, focus = false) {
  state.tab = tab;
  for (const button of document.querySelectorAll("[role=tab]")) {
    const selected = button.dataset.tab === tab;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(button.getAttribute("aria-controls")).hidden = !selected;
    if (selected && focus) button.focus();
  }
}

function loadExample(name) {
  const example = EXAMPLES[name];
  state.example = name;
  setText(editors.workloads, example.workloads);
  setText(editors.nodepools, example.nodepools ?? defaultNodePool.manifest);
  if (example.now) {
    state.now = example.now;
    $("now").value = example.now;
  }
  $("example").value = name;
}

function showControls() {
  $("region").value = state.region;
  $("discount").value = String(state.discount);
  $("discount-out").value = `${state.discount}%`;
  $("replicas").value = String(state.replicas);
  $("replicas-out").value = String(state.replicas);
  $("requests").value = String(state.requests);
  $("requests-out").value = String(state.requests);
  $("spot-on").checked = state.spot !== null;
  $("spot").disabled = state.spot === null;
  if (state.spot !== null) $("spot").value = String(state.spot);
  $("spot-out").value = state.spot === null ? "as written" : percent(state.spot);
  $("families").value = state.families;
  $("ca-type").value = state.ca;
  $("now").value = state.now;
  $("consolidation-mode").value = state.consolidation;
  $("shape").value = state.shape;
  $("sim-consolidation").value = state.simConsolidation;
  $("example").value = state.example ?? "";
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function wire() {
  const edited = debounce(() => {
    state.example = null;
    $("example").value = "";
    invalidate();
  }, 250);
  for (const name of ["workloads", "nodepools"]) {
    $(`${name}-file`).addEventListener("change", async (event) => {
      if (!event.target.files.length) return;
      setText(editors[name], await readFiles(event.target.files), false);
      event.target.value = "";
    });
  }
  editors.onChange = edited;

  $("example").addEventListener("change", (event) => {
    if (!event.target.value) return;
    loadExample(event.target.value);
    invalidate();
  });
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const button of tabs) {
    button.addEventListener("click", () => {
      selectTab(button.dataset.tab);
      saveState();
      update();
    });
    button.addEventListener("keydown", (event) => {
      const i = tabs.indexOf(button);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      const target = tabs[(next + tabs.length) % tabs.length];
      selectTab(target.dataset.tab, true);
      saveState();
      update();
    });
  }

  // A slider shows its value at once and asks again once it rests for a moment, so that
  // dragging it does not restart the engine at every step.
  const slider = (id, key, show, keys) => {
    const ask = debounce(() => invalidate(...keys), 120);
    $(id).addEventListener("input", () => {
      state[key] = Number($(id).value);
      $(`${id}-out`).value = show(state[key]);
      ask();
    });
  };
  slider("replicas", "replicas", String, ["sweep"]);
  slider("requests", "requests", String, ["sweep"]);
  slider("spot", "spot", percent, ["sweep"]);
  slider("discount", "discount", (x) => `${x}%`, []);
  $("spot-on").addEventListener("change", () => {
    state.spot = $("spot-on").checked ? Number($("spot").value) : null;
    showControls();
    invalidate("sweep");
  });
  $("families").addEventListener("change", () => {
    state.families = $("families").value;
    invalidate("sweep");
  });
  $("region").addEventListener("change", () => {
    state.region = $("region").value;
    invalidate();
  });
  $("ca-type").addEventListener("change", () => {
    state.ca = $("ca-type").value.trim() || DEFAULTS.ca;
    invalidate("ca");
  });
  $("now").addEventListener("change", () => {
    state.now = $("now").value.trim();
    invalidate("consolidate");
  });
  $("consolidation-mode").addEventListener("change", () => {
    state.consolidation = $("consolidation-mode").value;
    invalidate("consolidate");
  });
  $("shape").addEventListener("change", () => {
    state.shape = $("shape").value;
    invalidate("simulate");
  });
  $("sim-consolidation").addEventListener("change", () => {
    state.simConsolidation = $("sim-consolidation").value;
    invalidate("simulate");
  });

  $("share").addEventListener("click", async () => {
    const fragment = await share.encode(currentState());
    history.replaceState(null, "", `#${fragment}`);
    copy("the share link", location.href, "fleetfit-link.txt", "text/plain");
  });
  for (const button of document.querySelectorAll("[data-export]")) {
    button.addEventListener("click", () => {
      const plan = results.plan?.ok ?? lastPlan;
      if (!plan) return flash("no plan to export yet");
      const kind = button.dataset.export;
      if (kind === "json") copy("the plan as JSON", JSON.stringify(plan, null, 2) + "\n", "fleetfit-plan.json", "application/json");
      if (kind === "csv") copy("the plan as CSV", planCsv(plan), "fleetfit-plan.csv", "text/csv");
      if (kind === "markdown") copy("the plan as Markdown", planMarkdown(plan), "fleetfit-plan.md", "text/markdown");
    });
  }
  $("download-nodepools").addEventListener("click", () => {
    const value = text(editors.nodepools).trim() ? text(editors.nodepools) : defaultNodePool.manifest;
    download("nodepools.yaml", value, "application/yaml");
  });
}

// --- start -------------------------------------------------------------------------------

async function start() {
  const onChange = (...args) => editors.onChange?.(...args);
  editors = {
    workloads: createEditor($("workloads"), "Workloads", onChange),
    nodepools: createEditor($("nodepools"), "NodePools and EC2NodeClasses", onChange),
  };
  engine = new Engine(new URL("./fleetfit_bg.wasm", import.meta.url), new URL("./worker.js", import.meta.url));
  // For the console (and the bench): the engine as the page runs it, and the editors' texts.
  window.fleetfit = { call: (name, ...args) => engine.timed(name, ...args), text: (name) => text(editors[name]) };
  await engine.start();
  performance.mark("fleetfit:engine-ready");
  const [regions, version] = await Promise.all([engine.call("regions"), engine.call("version")]);
  defaultNodePool = await engine.call("default_nodepool");
  for (const name of regions) $("region").append(new Option(name, name));
  for (const [name, example] of Object.entries(EXAMPLES)) $("example").append(new Option(example.title, name));
  for (const type of CA_TYPES) $("ca-types").append(new Option(type));
  $("version").textContent = `fleetfit ${version} · the engine runs in this page (WebAssembly); prices from its embedded catalog`;

  let restored = null;
  try {
    restored = await share.decode(location.hash);
  } catch (error) {
    showErrors({ message: `The link could not be read: ${error.message}. Showing the web shop example.` });
  }
  if (restored) {
    state = { ...DEFAULTS, ...restored };
    delete state.v;
    setText(editors.workloads, restored.workloads ?? "");
    setText(editors.nodepools, restored.nodepools ?? "");
  } else {
    loadExample("webshop");
  }
  showControls();
  selectTab(state.tab);
  wire();
  if ("serviceWorker" in navigator && location.protocol !== "file:") {
    navigator.serviceWorker.register("sw.js").catch((error) => console.warn(`offline use is not available: ${error.message}`));
  }
  update();
  if (!restored) saveState();
}

start().catch((error) => {
  setIdle(`the engine did not load: ${error.message}`, "failed");
  console.error(error);
});
