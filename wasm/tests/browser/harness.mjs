// What the browser tests and the bench share: a static server for wasm/dist on 127.0.0.1,
// Debian's Chromium driven by playwright-core, pages that fail on any console error, and the
// native CLI to compare with.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { staticServer } from "../../tools/serve.mjs";

export const repo = resolve(import.meta.dirname, "../../..");
export const dist = join(repo, "wasm/dist");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Serves `dir` on 127.0.0.1 (a free port); resolves to {url, close()}. */
export async function serve(dir = dist) {
  const server = staticServer(dir);
  server.keepAliveTimeout = 100;
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((done) => {
      server.closeAllConnections();
      server.close(done);
    }),
  };
}

/** Debian's Chromium, headless, with a fresh profile; contexts made from it share nothing. */
export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (scripts/setup does)`);
  const profile = mkdtempSync(join(tmpdir(), "fleetfit-chromium-"));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", `--disk-cache-dir=${join(profile, "cache")}`],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A new page in `context` that records every console error, uncaught exception and failed
 * request to anywhere but 127.0.0.1; `problems` lists them.
 */
export async function openPage(context) {
  const page = await context.newPage();
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.stack ?? error.message}`));
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["127.0.0.1", ""].includes(url.hostname) && !["blob:", "data:"].includes(url.protocol)) problems.push(`network: ${request.url()}`);
  });
  page.problems = problems;
  return page;
}

/** Waits until the page has answered: a generation after `after`, and not busy. */
export async function settled(page, after = 0, timeout = 120_000) {
  await page.waitForFunction(
    (g) => Number(document.body.dataset.generation ?? 0) > g && ["ready", "error"].includes(document.body.dataset.state),
    after,
    { timeout, polling: 50 },
  );
  return page.evaluate(() => ({ state: document.body.dataset.state, generation: Number(document.body.dataset.generation) }));
}

/** The page's current generation (to wait for the answer to what comes next). */
export const generation = (page) => page.evaluate(() => Number(document.body.dataset.generation ?? 0));

/** The plan the page shows: {cost, nodes, unschedulable, pods} from the summary's data. */
export async function shownPlan(page) {
  return page.evaluate(() => {
    const d = document.getElementById("summary").dataset;
    return { cost: Number(d.cost), nodes: Number(d.nodes), unschedulable: Number(d.unschedulable), pods: Number(d.pods) };
  });
}

/** The CLI binary: FLEETFIT_CLI, else the debug or release build. */
export function cliPath() {
  const candidates = [process.env.FLEETFIT_CLI, join(repo, "target/debug/fleetfit"), join(repo, "target/release/fleetfit")];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error("no fleetfit CLI: cargo build -p fleetfit-core --bin fleetfit");
  return found;
}

/** `fleetfit ARGS -o json`, parsed. */
export function cli(...args) {
  return JSON.parse(execFileSync(cliPath(), [...args, "-o", "json"], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28 }));
}
