// The playground page in a real headless Chromium (Debian's, driven by playwright-core): every
// example's plan is the CLI's, edits recompute, errors point at their line and keep the last
// plan, share links restore the state, the what-if controls move the cost the right way, the
// page works offline, and every view is screenshotted to wasm/screenshots/. Any console
// error, uncaught exception or request beyond 127.0.0.1 fails the test that caused it.
// Run by scripts/playground-test after the build; FLEETFIT_CLI names the CLI to compare with.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cli, generation, launch, openPage, repo, serve, settled, shownPlan } from "./harness.mjs";

const screenshots = join(repo, "wasm/screenshots");
mkdirSync(screenshots, { recursive: true });

/** Each example and the CLI arguments that read the same files. */
const EXAMPLES = {
  webshop: ["-f", "examples/webshop", "--nodepools", "examples/nodepools.yaml"],
  guide: ["-f", "wasm/www/examples/inflate.yaml"],
  gpu: ["-f", "examples/webshop/40-ml.yaml", "--nodepools", "examples/nodepools.yaml"],
  batch: ["-f", "examples/webshop/50-batch.yaml", "--nodepools", "examples/nodepools.yaml"],
  snapshot: ["-f", "examples/cluster/pending-pods.json", "--cluster", "examples/cluster/snapshot.json", "--nodepools", "examples/nodepools.yaml"],
};

let server, chrome;
before(async () => {
  server = await serve();
  chrome = await launch();
});
after(async () => {
  await chrome?.close();
  await server?.close();
});

/** A fresh context and page, opened at `url` (default: the page) and settled. */
async function open(url = server.url, options = {}) {
  const context = await chrome.browser.newContext({ viewport: { width: 1440, height: 900 }, ...options });
  const page = await openPage(context);
  await page.goto(url);
  await settled(page);
  return { context, page };
}

/** Fails on anything the page reported, then closes its context. */
async function done({ context, page }) {
  const problems = [...page.problems];
  await context.close();
  assert.deepEqual(problems, [], "the page reported problems");
}

/** Replaces the text of editor `name` (workloads or nodepools) by typing it in, as a paste. */
async function typeInto(page, name, value) {
  await page.locator(`#${name} .cm-content`).click();
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(value);
}

async function choose(page, selector, value) {
  const g = await generation(page);
  await page.selectOption(selector, value);
  return settled(page, g);
}

const cents = (x) => Math.round(x * 100);

test("every example shows the CLI's plan: cost to the cent, nodes, unschedulable pods", async () => {
  const opened = await open();
  const { page } = opened;
  for (const [name, args] of Object.entries(EXAMPLES)) {
    const { state } = await choose(page, "#example", name);
    assert.equal(state, "ready", `${name}: the plan was computed`);
    const shown = await shownPlan(page);
    const native = cli("plan", ...args);
    assert.equal(cents(shown.cost), cents(native.cost_per_hour), `${name}: cost per hour`);
    assert.equal(shown.nodes, native.nodes.length, `${name}: new nodes`);
    assert.equal(shown.unschedulable, native.unschedulable.length, `${name}: unschedulable pods`);
    // What the reader sees is that cost too.
    const card = await page.locator("#summary .card").first().innerText();
    const written = Number(/\$([\d,.]+)\/h/.exec(card)?.[1].replaceAll(",", ""));
    assert.ok(Math.abs(written - native.cost_per_hour) < 0.001, `${name}: the cost card says ${card}`);
    assert.equal(await page.locator("#groups tbody tr").count() > 0 || native.nodes.length === 0, true, `${name}: node groups shown`);
    assert.equal(await page.locator("ul.unschedulable > li").count(), native.unschedulable.length, `${name}: unschedulable listed`);
    assert.equal(await page.locator("#existing .node").count(), native.existing_nodes.length, `${name}: existing nodes shown`);
  }
  await done(opened);
});

test("editing the YAML recomputes; a bad quantity names the object, field and line, and keeps the last plan", async () => {
  const opened = await open();
  const { page } = opened;
  await choose(page, "#example", "guide");
  const ten = await shownPlan(page);
  const workload = (replicas, cpu) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: inflate
  namespace: default
spec:
  replicas: ${replicas}
  template:
    spec:
      containers:
        - name: inflate
          resources:
            requests:
              cpu: ${cpu}
              memory: 1Gi
`;
  let g = await generation(page);
  await typeInto(page, "workloads", workload(40, "500m"));
  assert.equal((await settled(page, g)).state, "ready");
  const forty = await shownPlan(page);
  assert.ok(forty.cost > ten.cost, `40 pods cost more than 10 (${forty.cost} > ${ten.cost})`);
  assert.equal(forty.pods, 40);
  assert.equal(await page.locator("#example").inputValue(), "", "an edited example is the user's own");

  g = await generation(page);
  await typeInto(page, "workloads", workload(40, "1.5x"));
  assert.equal((await settled(page, g)).state, "error");
  const error = await page.locator("#errors").innerText();
  assert.match(error, /Deployment default\/inflate: spec\.template\.spec\.containers\[0\]\.resources\.requests\.cpu: .*1\.5x/);
  const link = page.locator("#errors a.line-link");
  assert.equal(await link.innerText(), "workloads:14");
  assert.deepEqual(await shownPlan(page), forty, "the last good plan is still shown");
  assert.ok(await page.locator("#plan-stale").isVisible(), "and marked as the last good one");
  await link.click();
  assert.match(await page.locator("#workloads .cm-activeLine").innerText(), /cpu: 1\.5x/, "the link selects the line");

  g = await generation(page);
  await typeInto(page, "workloads", workload(20, "500m"));
  assert.equal((await settled(page, g)).state, "ready");
  assert.ok(await page.locator("#errors").isHidden(), "the error goes once the input is right");
  assert.equal((await shownPlan(page)).pods, 20);
  await done(opened);
});

test("files: opened, dropped, kubectl get -o json; the plan copied as JSON, CSV and Markdown; NodePools downloaded", async () => {
  const opened = await open(server.url, { permissions: ["clipboard-read", "clipboard-write"], acceptDownloads: true });
  const { page } = opened;
  // `kubectl get pods -A -o json` output, opened from disk into the workloads editor.
  let g = await generation(page);
  await page.setInputFiles("#workloads-file", join(repo, "examples/cluster/pending-pods.json"));
  assert.equal((await settled(page, g)).state, "ready");
  const native = cli("plan", "-f", "examples/cluster/pending-pods.json", "--nodepools", "examples/nodepools.yaml");
  const shown = await shownPlan(page);
  assert.equal(cents(shown.cost), cents(native.cost_per_hour));
  assert.equal(shown.unschedulable, native.unschedulable.length);

  await page.locator("[data-export=json]").click();
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("copied"));
  const json = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
  assert.equal(json.cost_per_hour, native.cost_per_hour);
  assert.deepEqual(json.nodes, native.nodes, "the copied plan's nodes are the CLI's");
  await page.locator("[data-export=csv]").click();
  await page.waitForFunction(() => document.getElementById("status").textContent === "copied the plan as CSV");
  const csv = (await page.evaluate(() => navigator.clipboard.readText())).trimEnd().split("\n");
  assert.equal(csv.length, native.nodes.length + 1);
  assert.match(csv[0], /^name,nodepool,instance_type,capacity_type,zone,price_per_hour/);
  await page.locator("[data-export=markdown]").click();
  await page.waitForFunction(() => document.getElementById("status").textContent === "copied the plan as Markdown");
  assert.match(await page.evaluate(() => navigator.clipboard.readText()), /\| count \| instance type \|/);

  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download-nodepools").click()]);
  assert.equal(readFileSync(await download.path(), "utf8"), readFileSync(join(repo, "examples/nodepools.yaml"), "utf8"));

  // A file dropped onto the editor replaces its text.
  g = await generation(page);
  const inflate = readFileSync(join(repo, "wasm/www/examples/inflate.yaml"), "utf8");
  await page.evaluate((body) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([body], "inflate.yaml", { type: "application/yaml" }));
    document.querySelector("#workloads .cm-content").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, inflate);
  assert.equal((await settled(page, g)).state, "ready");
  assert.equal((await shownPlan(page)).pods, 10);
  await done(opened);
});

test("a large input shows progress, and an edit cancels the stale run", async () => {
  const opened = await open();
  const { page } = opened;
  const big = Array.from({ length: 40 }, (_, i) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: app-${i}, namespace: big}
spec:
  replicas: 150
  template:
    spec:
      containers:
        - name: app
          resources: {requests: {cpu: ${(i % 4) + 1}00m, memory: ${(i % 3) + 1}Gi}}
`).join("---\n");
  const g = await generation(page);
  await typeInto(page, "workloads", big);
  await page.waitForFunction((g) => Number(document.body.dataset.generation) > g && document.body.dataset.state === "busy", g);
  assert.ok(await page.locator("#progress-bar").isVisible(), "a progress bar while 6,000 pods are planned");
  assert.match(await page.locator("#status").innerText(), /planning… \(1 of 3/);
  const started = Date.now();
  await typeInto(page, "workloads", readFileSync(join(repo, "wasm/www/examples/inflate.yaml"), "utf8"));
  assert.equal((await settled(page, g + 1)).state, "ready");
  assert.equal((await shownPlan(page)).pods, 10, "the answer is the new input's");
  assert.ok(Date.now() - started < 60_000);
  await done(opened);
});

test("a share link restores the inputs, the options and the plan in a fresh browser context", async () => {
  const first = await open();
  const { page } = first;
  await choose(page, "#example", "batch");
  await page.locator("#tab-whatif").click();
  await settled(page, 0);
  let g = await generation(page);
  await page.selectOption("#region", "eu-west-1");
  await settled(page, g);
  const plan = await shownPlan(page);
  await page.waitForFunction(() => location.hash.startsWith("#v1.") && document.body.dataset.saved === document.body.dataset.generation);
  const link = page.url();
  const texts = await page.evaluate(() => [window.fleetfit.text("workloads"), window.fleetfit.text("nodepools")]);
  await done(first);

  const second = await open(link);
  assert.deepEqual(await second.page.evaluate(() => [window.fleetfit.text("workloads"), window.fleetfit.text("nodepools")]), texts);
  assert.equal(await second.page.locator("#region").inputValue(), "eu-west-1");
  assert.equal(await second.page.locator("#tab-whatif").getAttribute("aria-selected"), "true");
  assert.deepEqual(await shownPlan(second.page), plan);
  assert.equal(cents(plan.cost), cents(cli("plan", ...EXAMPLES.batch, "--region", "eu-west-1").cost_per_hour));
  await done(second);
});

test("what-if: more spot is not dearer, more replicas not cheaper, a discount cheaper", async () => {
  const opened = await open();
  const { page } = opened;
  await page.locator("#tab-whatif").click();
  await settled(page, 0);
  const scenario = () => page.evaluate(() => Number(document.getElementById("whatif-table").dataset.scenario));
  const base = await page.evaluate(() => Number(document.getElementById("whatif-table").dataset.base));
  assert.equal(cents(base), cents((await shownPlan(page)).cost), "the sweep's baseline is the plan");

  let g = await generation(page);
  await page.locator("#spot-on").check();
  await settled(page, g);
  // The keyboard moves the slider: Home is no pod pinned to spot, End all of them.
  g = await generation(page);
  await page.locator("#spot").focus();
  await page.keyboard.press("Home");
  await settled(page, g);
  const none = await scenario();
  g = await generation(page);
  await page.keyboard.press("End");
  await settled(page, g);
  const all = await scenario();
  assert.ok(all <= none, `all pods on spot (${all}) is not dearer than none (${none})`);
  assert.equal(await page.locator("#spot-chart svg circle").count(), 22, "cost and bound over 11 spot shares");

  g = await generation(page);
  await page.locator("#replicas").fill("2");
  await settled(page, g);
  assert.ok((await scenario()) >= all, "twice the replicas cost no less");

  const before = (await shownPlan(page)).cost;
  g = await generation(page);
  await page.locator("#discount").fill("30");
  await settled(page, g);
  assert.ok((await shownPlan(page)).cost < before, "a Savings Plans discount lowers the plan's cost");
  await done(opened);
});

test("works offline once loaded", async () => {
  const own = await serve();
  const context = await chrome.browser.newContext();
  const page = await openPage(context);
  await page.goto(own.url);
  await settled(page);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  const online = await shownPlan(page);
  await context.setOffline(true);
  await own.close();
  await page.reload();
  assert.equal((await settled(page)).state, "ready");
  assert.deepEqual(await shownPlan(page), online);
  await done({ context, page });
});

test("keyboard: the tabs move with the arrow keys", async () => {
  const opened = await open();
  const { page } = opened;
  await page.locator("#tab-plan").focus();
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.locator("#tab-nodes").getAttribute("aria-selected"), "true");
  assert.ok(await page.locator("#panel-nodes").isVisible());
  assert.ok(await page.locator("#panel-plan").isHidden());
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-nodes");
  assert.ok((await page.locator("#node-list .node").count()) > 0, "each new node is shown");
  await done(opened);
});

describe("screenshots of every view", () => {
  const views = [
    ["webshop", "plan"], ["snapshot", "nodes"], ["webshop", "why"], ["webshop", "whatif"],
    ["snapshot", "consolidate"], ["webshop", "simulate"],
  ];
  for (const scheme of ["light", "dark"]) {
    test(`${scheme}`, async () => {
      const opened = await open(server.url, { colorScheme: scheme });
      const { page } = opened;
      for (const [example, tab] of views) {
        if ((await page.locator("#example").inputValue()) !== example) await choose(page, "#example", example);
        const g = await generation(page);
        await page.locator(`#tab-${tab}`).click();
        assert.equal((await settled(page, g, 300_000)).state, "ready", `${tab}: answered`);
        assert.ok(await page.locator(`#panel-${tab}`).isVisible());
        assert.equal(await page.locator(`#panel-${tab} .panel-error`).count(), 0, `${tab}: no error in the view`);
        const name = scheme === "light" ? `${tab}.png` : `${tab}-dark.png`;
        await page.screenshot({ path: join(screenshots, name), fullPage: tab !== "why" });
      }
      await done(opened);
    });
  }
});
