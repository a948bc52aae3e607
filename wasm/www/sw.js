// The service worker: keeps the built page (its HTML, scripts, styles and the wasm module) in
// a cache, so the playground works offline once it has loaded. The build fills in ASSETS and
// VERSION; a new build is a new cache, and the old one is deleted when it activates.
const VERSION = "__VERSION__";
const ASSETS = __ASSETS__;
const CACHE = `fleetfit-playground-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("fleetfit-playground-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// Cache first for the page's own files (they change only with a new build, which is a new
// cache); anything else goes to the network as usual.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const hit = await cache.match(request, { ignoreSearch: true });
      if (hit) return hit;
      const response = await fetch(request);
      if (response.ok) cache.put(request, response.clone());
      return response;
    }),
  );
});
