// The Web Worker that runs the engine. Messages in: {type: "load", module} once, then
// {id, name, args}. Messages out: {id, result, ms} or {id, error: {message, source, line,
// errors}} (an Error's own properties do not survive postMessage, so they are copied).
import { call, load } from "./engine.js";

self.onmessage = async (event) => {
  const message = event.data;
  if (message.type === "load") {
    try {
      await load(message.module);
      self.postMessage({ type: "loaded" });
    } catch (error) {
      self.postMessage({ type: "loaded", error: { message: String(error?.message ?? error) } });
    }
    return;
  }
  const { id, name, args } = message;
  const started = performance.now();
  try {
    const result = await call(name, ...args);
    self.postMessage({ id, result, ms: performance.now() - started });
  } catch (error) {
    self.postMessage({
      id,
      error: {
        message: String(error?.message ?? error),
        source: error?.source,
        line: error?.line,
        errors: error?.errors,
      },
    });
  }
};
