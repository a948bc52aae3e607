// The engine: owns the wasm module and answers calls with promises, so that main.js does not
// change when the engine moves into a Web Worker. Each call takes the input
// ({sources, region, ...}) and an options object, and resolves to the JSON shape of the
// CLI's `-o json`, or rejects with the engine's Error (message, source, line, errors).
import init, * as wasm from "../pkg/fleetfit.js";

let ready = null;

/** Loads the module once; `wasmUrl` is where fleetfit_bg.wasm is served. */
export function load(wasmUrl) {
  ready ??= init({ module_or_path: wasmUrl });
  return ready;
}

async function call(name, ...args) {
  await ready;
  return wasm[name](...args);
}

export const plan = (input, options) => call("plan", input, options);
export const explain = (input, options) => call("explain", input, options);
export const consolidate = (input, options) => call("consolidate", input, options);
export const simulate = (input, options) => call("simulate", input, options);
export const sweep = (input, options) => call("sweep", input, options);
export const regions = () => call("regions");
export const catalog = (options) => call("catalog", options);
export const defaultNodePool = () => call("default_nodepool");
export const version = () => call("version");
