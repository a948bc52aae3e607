// Serves a built playground folder on localhost: node serve.mjs DIR [PORT]. Static files
// only, with the types browsers need (application/wasm for streaming compilation). The browser
// tests and the bench serve the page with the same server (staticServer).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** An http server of the files under `dir` (not yet listening); `no-cache`, so a rebuild shows. */
export function staticServer(dir) {
  const root = resolve(dir);
  return createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://127.0.0.1").pathname);
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    if (!file.startsWith(root)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-cache",
      });
      response.end(body);
    } catch {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [dir = "dist", port = "8000"] = process.argv.slice(2);
  const server = staticServer(dir);
  server.listen(Number(port), "127.0.0.1", () => {
    console.log(`playground: serving ${resolve(dir)} at http://127.0.0.1:${server.address().port}/ (Ctrl-C stops)`);
  });
}
