// The built module (wasm/dist, as the page loads it) against the native CLI: the same input
// gives the same answer, to the last digit. Run by scripts/playground-test, which builds both;
// FLEETFIT_CLI names the CLI binary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import * as fleetfit from "../pkg/fleetfit.js";

const repo = resolve(import.meta.dirname, "../..");
fleetfit.initSync({ module: readFileSync(join(repo, "wasm/dist/fleetfit_bg.wasm")) });
const cli = process.env.FLEETFIT_CLI ?? join(repo, "target/debug/fleetfit");

/** A manifest path as the CLI reads it: a file, or a directory's .yaml/.yml/.json files in name order. */
function sources(path) {
  if (!statSync(join(repo, path)).isDirectory()) {
    return [{ name: path, text: readFileSync(join(repo, path), "utf8") }];
  }
  return readdirSync(join(repo, path))
    .sort()
    .flatMap((entry) => {
      const child = join(path, entry);
      if (statSync(join(repo, child)).isDirectory()) return sources(child);
      return /\.(ya?ml|json)$/.test(entry) ? sources(child) : [];
    });
}

function runCli(...args) {
  return JSON.parse(execFileSync(cli, [...args, "-o", "json"], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
}

const shop = { sources: [...sources("examples/webshop"), ...sources("examples/nodepools.yaml")] };
const shopArgs = ["-f", "examples/webshop", "--nodepools", "examples/nodepools.yaml"];

test("the web shop's plan is the CLI's, in both modes", () => {
  for (const mode of ["optimize", "karpenter"]) {
    const native = runCli("plan", ...shopArgs, "--mode", mode);
    const wasm = fleetfit.plan(shop, { mode });
    assert.equal(Math.round(wasm.cost_per_hour * 100), Math.round(native.cost_per_hour * 100), `${mode}: cost`);
    assert.ok(wasm.nodes.length > 0 && wasm.cost_per_hour > 0);
    assert.deepEqual(wasm, native, `${mode}: the whole plan`);
  }
});

test("explain and another region agree with the CLI", () => {
  assert.deepEqual(fleetfit.explain(shop, { top: 2 }), runCli("explain", ...shopArgs, "--top", "2"));
  const region = "eu-west-1";
  assert.deepEqual(fleetfit.plan({ ...shop, region }), runCli("plan", ...shopArgs, "--region", region));
});

test("a sweep prices each scenario as a plan would", () => {
  const priced = fleetfit.sweep(shop, { scenarios: [{}, { replicas: 2, spot_share: 1 }] });
  assert.equal(priced.length, 2);
  assert.equal(priced[0].cost_per_hour, fleetfit.plan(shop).cost_per_hour);
  assert.ok(priced[1].pods > priced[0].pods);
});

test("errors name the object and field, and where it is written", () => {
  const web = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          resources:
            requests: {cpu: 1.5x}
`;
  assert.throws(
    () => fleetfit.plan({ sources: [{ name: "workloads", text: web }] }),
    (error) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /^Deployment shop\/web: spec\.template\.spec\.containers\[0\]\.resources\.requests\.cpu: /);
      assert.equal(error.source, "workloads");
      assert.equal(error.line, 11);
      assert.deepEqual(error.errors, [{ message: error.message, source: "workloads", line: 11 }]);
      return true;
    },
  );
  // One text is an input named "input".
  assert.throws(() => fleetfit.plan(web), (error) => error.source === "input" && error.line === 11);
});

test("options are read strictly and named in errors", () => {
  assert.throws(() => fleetfit.plan(shop, { mdoe: "karpenter" }), /^Error: plan options: mdoe: unknown field `mdoe`/);
  assert.throws(() => fleetfit.plan(shop, { mode: "fast" }), /plan options: mode: unknown mode "fast"/);
  assert.throws(() => fleetfit.plan({ ...shop, regoin: "x" }), /input: regoin: unknown field `regoin`/);
  assert.throws(() => fleetfit.sweep(shop, { scenarios: [{}, { replicas: "2" }] }), /sweep options: scenarios\[1\]\.replicas: /);
  assert.throws(() => fleetfit.consolidate(shop, {}), /consolidate options: missing field `now`/);
  assert.throws(() => fleetfit.plan({ ...shop, region: "mars-1" }), /mars-1/);
});

test("the catalog, its regions and the default NodePool", () => {
  const regions = fleetfit.regions();
  assert.ok(regions.includes("us-east-1") && regions.includes("eu-west-1"));
  const info = fleetfit.catalog({ region: "eu-west-1" });
  assert.equal(info.region, "eu-west-1");
  assert.ok(info.notes.length > 0 && info.instance_types > 100);
  const pool = fleetfit.default_nodepool();
  const parsed = fleetfit.parse_manifests(pool.manifest);
  assert.equal(parsed.nodepools[0].name, "default");
  assert.match(pool.note, /stand-in NodePool/);
});
