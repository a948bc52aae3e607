// The page's side of the engine: one Web Worker running engine.js, fed the wasm module the
// page compiled once. Calls are answered in order. cancel() drops every call still waiting:
// when the worker is busy it is terminated and a fresh one started from the same compiled
// module, so a stale plan never delays the new one.

/** The rejection of a call that cancel() dropped. */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
    this.cancelled = true;
  }
}

/** An engine failure as the wasm module throws it: message, source, line, errors. */
function engineError(e) {
  const error = new Error(e.message);
  if (e.source !== undefined) error.source = e.source;
  if (e.line !== undefined) error.line = e.line;
  if (e.errors !== undefined) error.errors = e.errors;
  return error;
}

export class Engine {
  /** `wasmUrl`: where fleetfit_bg.wasm is served; `workerUrl`: the built worker.js. */
  constructor(wasmUrl, workerUrl) {
    this.workerUrl = workerUrl;
    this.module = WebAssembly.compileStreaming(fetch(wasmUrl));
    this.pending = new Map();
    this.nextId = 1;
    this.worker = null;
    this.loaded = null;
  }

  async start() {
    const module = await this.module;
    const worker = new Worker(this.workerUrl, { type: "module" });
    this.worker = worker;
    this.loaded = new Promise((resolve, reject) => {
      worker.onmessage = (event) => {
        const message = event.data;
        if (message.type === "loaded") {
          if (message.error) reject(engineError(message.error));
          else resolve();
          return;
        }
        const waiting = this.pending.get(message.id);
        if (!waiting) return;
        this.pending.delete(message.id);
        if (message.error) waiting.reject(engineError(message.error));
        else waiting.resolve({ result: message.result, ms: message.ms });
      };
      worker.onerror = (event) => reject(new Error(`the engine's worker failed: ${event.message}`));
    });
    worker.postMessage({ type: "load", module });
    return this.loaded;
  }

  /** Whether any call is waiting for its answer. */
  get busy() {
    return this.pending.size > 0;
  }

  /** Runs `name(...args)` in the worker; resolves to {result, ms} (ms: time in the engine). */
  timed(name, ...args) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.loaded.then(() => this.worker.postMessage({ id, name, args }), reject);
    });
  }

  /** Runs `name(...args)` in the worker and resolves to its answer. */
  async call(name, ...args) {
    return (await this.timed(name, ...args)).result;
  }

  /** Drops every waiting call (they reject with Cancelled); restarts a busy worker. */
  cancel() {
    if (!this.busy) return;
    const dropped = [...this.pending.values()];
    this.pending.clear();
    this.worker.terminate();
    this.start();
    for (const waiting of dropped) waiting.reject(new Cancelled());
  }
}
