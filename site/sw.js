// Service worker: precaches the whole site (page, worker, Pyodide runtime, wheels, solvers)
// so that a reload with the network off still solves. build.py stamps the version.
const VERSION = "__BUILD_VERSION__";
const CACHE = `kcsolver-site-${VERSION}`;
// Immutable within a version: served from the cache first. Everything else: network first.
const CACHE_FIRST = ["pyodide/", "wheels/", "examples/"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const list = await (await fetch("precache.json", { cache: "no-cache" })).json();
    const cache = await caches.open(CACHE);
    await cache.addAll(list.files.map((file) => new Request(file, { cache: "no-cache" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("kcsolver-site-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (request.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const path = url.pathname.slice(scope.pathname.length);
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    if (CACHE_FIRST.some((prefix) => path.startsWith(prefix))) {
      const hit = await cache.match(request, { ignoreSearch: true });
      if (hit) return hit;
    }
    try {
      return await fetch(request);
    } catch (error) {
      const hit = await cache.match(request, { ignoreSearch: true }) ||
        (path === "" ? await cache.match(new URL("index.html", scope).href) : undefined);
      if (hit) return hit;
      throw error;
    }
  })());
});
