// The playground's figures, measured in Debian's headless Chromium (not a test: nothing here
// can fail on a number): the wasm module's size, the time from navigation to the first plan
// of the web shop, and plan latency in the page's worker for the web shop, 1,000 and 10,000
// pods, next to the native CLI planning the same files. Run by scripts/playground-bench.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { cliPath, dist, launch, openPage, repo, serve, settled } from "./harness.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;

/** `pods` pending pods: Deployments of 4 sizes, 20 or 100 replicas each. */
function deployments(pods) {
  const replicas = pods >= 10_000 ? 100 : 20;
  const sizes = [["250m", "512Mi"], ["500m", "1Gi"], ["1", "2Gi"], ["2", "8Gi"]];
  const docs = [];
  for (let i = 0; i < pods / replicas; i++) {
    const [cpu, memory] = sizes[i % sizes.length];
    docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app-${i}, namespace: bench}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: app-${i}}}
  template:
    metadata: {labels: {app: app-${i}}}
    spec:
      containers:
        - name: app
          image: registry.example.com/app:1
          resources: {requests: {cpu: "${cpu}", memory: ${memory}}}
`);
  }
  return docs.join("---\n");
}

const work = mkdtempSync(join(tmpdir(), "fleetfit-bench-"));
const read = (dir) => readdirSync(join(repo, dir)).sort().map((f) => readFileSync(join(repo, dir, f), "utf8").trimEnd() + "\n").join("---\n");
const cases = [
  { name: "web shop (99 pods)", workloads: read("examples/webshop"), nodepools: readFileSync(join(repo, "examples/nodepools.yaml"), "utf8") },
  { name: "1,000 pods", workloads: deployments(1_000) },
  { name: "10,000 pods", workloads: deployments(10_000) },
];
for (const [i, c] of cases.entries()) {
  c.args = ["plan", "-f", join(work, `w${i}.yaml`)];
  writeFileSync(join(work, `w${i}.yaml`), c.workloads);
  if (c.nodepools) {
    writeFileSync(join(work, `n${i}.yaml`), c.nodepools);
    c.args.push("--nodepools", join(work, `n${i}.yaml`));
  }
  c.input = { sources: [{ name: "workloads", text: c.workloads }, ...(c.nodepools ? [{ name: "nodepools", text: c.nodepools }] : [])] };
}

const wasm = readFileSync(join(dist, "fleetfit_bg.wasm"));
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`wasm module: ${kib(wasm.length)} raw, ${kib(gzipSync(wasm, { level: 9 }).length)} gzipped; ` +
  `main.js ${kib(readFileSync(join(dist, "main.js")).length)} (${kib(gzipSync(readFileSync(join(dist, "main.js")), { level: 9 }).length)} gzipped)`);

const server = await serve();
const chrome = await launch();
try {
  // Navigation to the first plan, each in a fresh context (nothing cached, no service worker).
  const firsts = [];
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    const context = await chrome.browser.newContext();
    const page = await openPage(context);
    await page.goto(server.url);
    await settled(page);
    firsts.push(await page.evaluate(() => ["fleetfit:engine-ready", "fleetfit:first-plan"].map((m) => performance.getEntriesByName(m)[0].startTime)));
    await context.close();
  }
  const plans = firsts.map((f) => f[1]);
  console.log(`navigation to the first plan (web shop, cold): median ${ms(median(plans))} of ${plans.map(ms).join(", ")}; ` +
    `the engine was ready after ${ms(median(firsts.map((f) => f[0])))} (module fetched, compiled, instantiated in the worker)`);

  const context = await chrome.browser.newContext();
  const page = await openPage(context);
  await page.goto(server.url);
  await settled(page);
  console.log("\nplan latency (median of runs; browser: the page's worker, round trip and time in the engine; native: the release CLI, a whole process)");
  console.log(["input".padEnd(20), "browser".padStart(12), "in engine".padStart(12), "native CLI".padStart(12), "cost/h".padStart(10), "nodes".padStart(7)].join(""));
  for (const c of cases) {
    const runs = c.input.sources[0].text.length > 500_000 ? Math.min(RUNS, 3) : RUNS;
    const timed = await page.evaluate(async ({ input, runs }) => {
      const out = [];
      for (let i = 0; i < runs + 1; i++) {
        const started = performance.now();
        const { result, ms } = await window.fleetfit.call("plan", input, {});
        out.push({ total: performance.now() - started, ms, cost: result.cost_per_hour, nodes: result.nodes.length });
      }
      return out.slice(1); // the first run warms up
    }, { input: c.input, runs });
    const native = [];
    let plan;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      plan = JSON.parse(execFileSync(cliPath(), [...c.args, "-o", "json"], { encoding: "utf8", maxBuffer: 1 << 28 }));
      native.push(performance.now() - started);
    }
    const same = timed[0].cost.toFixed(4) === plan.cost_per_hour.toFixed(4) ? "" : "  (differs from the CLI!)";
    console.log([c.name.padEnd(20), ms(median(timed.map((t) => t.total))).padStart(12), ms(median(timed.map((t) => t.ms))).padStart(12),
      ms(median(native)).padStart(12), `$${timed[0].cost.toFixed(3)}`.padStart(10), String(timed[0].nodes).padStart(7)].join("") + same);
  }
  if (page.problems.length) console.log(`page problems: ${page.problems.join("; ")}`);
  await context.close();
} finally {
  await chrome.close();
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(`\ncli: ${cliPath()}`);
