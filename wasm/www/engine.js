// The engine: owns the wasm module and answers calls. It runs inside the Web Worker
// (worker.js), so a long plan never blocks the page; node tests and the bench may load it
// directly. Each call takes the input ({sources, region, prices, ...}) and an options object,
// and returns the JSON shape of the CLI's `-o json`, or throws the engine's Error (message,
// source, line, errors).
import init, * as wasm from "../pkg/fleetfit.js";

let ready = null;

/** Loads the module once: `module` is a compiled WebAssembly.Module or where the .wasm is served. */
export function load(module) {
  ready ??= init({ module_or_path: module });
  return ready;
}

/** The calls the page may make, by name. */
export const CALLS = {
  plan: (input, options) => wasm.plan(input, options),
  explain: (input, options) => wasm.explain(input, options),
  consolidate: (input, options) => wasm.consolidate(input, options),
  simulate: (input, options) => wasm.simulate(input, options),
  sweep: (input, options) => wasm.sweep(input, options),
  generate_trace: (input, options) => wasm.generate_trace(input, options),
  parse_manifests: (input) => wasm.parse_manifests(input),
  regions: () => wasm.regions(),
  catalog: (options) => wasm.catalog(options),
  default_nodepool: () => wasm.default_nodepool(),
  version: () => wasm.version(),
};

/** Runs one call by name once the module is loaded. */
export async function call(name, ...args) {
  await ready;
  const fn = CALLS[name];
  if (!fn) throw new Error(`engine: no call named ${name}`);
  return fn(...args);
}
