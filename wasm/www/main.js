// The playground page: two editors, a Plan button, the plan's table, its cost, lower bound
// and gap, and errors that link to their line.
import * as engine from "./engine.js";
import platform from "../../examples/webshop/00-platform.yaml";
import frontend from "../../examples/webshop/10-frontend.yaml";
import backend from "../../examples/webshop/20-backend.yaml";
import data from "../../examples/webshop/30-data.yaml";
import ml from "../../examples/webshop/40-ml.yaml";
import batch from "../../examples/webshop/50-batch.yaml";
import nodepools from "../../examples/nodepools.yaml";

const $ = (id) => document.getElementById(id);
const editors = { workloads: $("workloads"), nodepools: $("nodepools") };

/** The web shop example, its files as one text. */
const EXAMPLE = [platform, frontend, backend, data, ml, batch].map((t) => t.trimEnd() + "\n").join("---\n");

function input() {
  const sources = Object.entries(editors)
    .filter(([, editor]) => editor.value.trim() !== "")
    .map(([name, editor]) => ({ name, text: editor.value }));
  return { sources, region: $("region").value };
}

const money = (x) => (x >= 1 ? x.toFixed(3) : x.toFixed(4));
const percent = (x) => `${Math.round(x * 100)}%`;

function element(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

/** New nodes grouped as the CLI's table groups them: same type, capacity, zone, NodePool. */
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
  return [...byKey.values()].sort(
    (a, b) => a.nodepool.localeCompare(b.nodepool) || a.instance_type.localeCompare(b.instance_type) ||
      a.capacity_type.localeCompare(b.capacity_type) || a.zone.localeCompare(b.zone));
}

function showPlan(plan) {
  const pods = plan.nodes.reduce((sum, n) => sum + n.pods.length, 0);
  const summary = $("summary");
  summary.replaceChildren();
  const row = (term, value) => summary.append(element("dt", term), element("dd", value));
  row("pods", `${pods} on ${plan.nodes.length} new nodes, ${plan.existing.length} on existing nodes, ` +
    `${plan.unschedulable.length} unschedulable`);
  row("cost", `$${money(plan.cost_per_hour)}/h ($${(plan.cost_per_hour * 730).toFixed(2)}/month)`);
  row("lower bound", `$${money(plan.lower_bound_per_hour)}/h` +
    (plan.gap === null ? "" : `, gap ${(plan.gap * 100).toFixed(1)}%`));
  if (plan.karpenter_cost_per_hour !== null) {
    row("karpenter", `$${money(plan.karpenter_cost_per_hour)}/h for the same pods in karpenter mode`);
  }
  row("utilisation", `cpu ${percent(plan.utilisation.cpu)}, memory ${percent(plan.utilisation.memory)}`);

  const body = $("nodes").tBodies[0];
  body.replaceChildren();
  for (const g of groups(plan.nodes)) {
    const tr = document.createElement("tr");
    tr.append(
      element("td", String(g.count), "num"), element("td", g.instance_type), element("td", g.capacity_type),
      element("td", g.zone), element("td", g.nodepool), element("td", `$${money(g.price_per_hour)}`, "num"),
      element("td", `$${money(g.price_per_hour * g.count)}`, "num"),
      element("td", percent(g.cpu / g.count), "num"), element("td", percent(g.memory / g.count), "num"));
    body.append(tr);
  }

  const unschedulable = $("unschedulable");
  unschedulable.replaceChildren();
  if (plan.unschedulable.length) {
    unschedulable.append(element("h3", "unschedulable"));
    const list = element("ul");
    for (const u of plan.unschedulable) {
      const item = element("li", u.pod);
      const reasons = element("ul");
      for (const r of u.reasons) reasons.append(element("li", r));
      item.append(reasons);
      list.append(item);
    }
    unschedulable.append(list);
  }
  const notes = $("notes");
  notes.replaceChildren(...[...plan.warnings.map((w) => `warning: ${w}`), ...plan.notes].map((n) => element("li", n)));
  $("result").hidden = false;
}

/** Selects line `line` (1-based) of an editor and scrolls to it. */
function goToLine(editor, line) {
  const lines = editor.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(start, start + (lines[line - 1] ?? "").length);
  const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 16;
  editor.scrollTop = Math.max(0, (line - 3) * lineHeight);
}

function showErrors(error) {
  const box = $("errors");
  const list = element("ul");
  const problems = error.errors ?? [{ message: error.message, source: error.source, line: error.line }];
  for (const p of problems) {
    const item = element("li");
    if (p.source in editors && p.line) {
      const link = element("a", `${p.source}:${p.line}`);
      link.href = "#";
      link.dataset.source = p.source;
      link.dataset.line = String(p.line);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        goToLine(editors[p.source], p.line);
      });
      item.append(link, " ");
    }
    item.append(p.message);
    list.append(item);
  }
  box.replaceChildren(list);
  box.hidden = false;
}

async function runPlan() {
  $("errors").hidden = true;
  $("status").textContent = "planning…";
  const started = performance.now();
  try {
    const plan = await engine.plan(input(), { mode: $("mode").value });
    showPlan(plan);
    $("status").textContent = `planned in ${Math.round(performance.now() - started)} ms`;
  } catch (error) {
    $("result").hidden = true;
    showErrors(error);
    $("status").textContent = "";
  }
}

async function start() {
  await engine.load(new URL("./fleetfit_bg.wasm", import.meta.url));
  const region = $("region");
  for (const name of await engine.regions()) region.append(new Option(name, name, false, name === "us-east-1"));
  $("version").textContent = `fleetfit ${await engine.version()}`;
  editors.workloads.value = EXAMPLE;
  editors.nodepools.value = nodepools;
  $("plan").disabled = false;
  $("plan").addEventListener("click", runPlan);
  $("status").textContent = "";
  await runPlan();
}

start().catch((error) => {
  $("status").textContent = `the engine did not load: ${error.message}`;
});
