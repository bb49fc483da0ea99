// Service worker: precaches the whole site (page, worker, Pyodide runtime, wheels, solvers)
// so that a return visit starts without the network and a visit offline still solves.
// build.py stamps the version; one cache holds exactly one build's files, so they are served
// cache first (a new build brings a new sw.js, which the browser notices on the next visit,
// installs and activates; the visit after that runs the new build).
const VERSION = "__BUILD_VERSION__";
const CACHE = `kcsolver-site-${VERSION}`;

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
    const cache = await (opened ??= caches.open(CACHE));
    // An exact match is a lookup; ignoreSearch makes the cache compare every entry, so it is only
    // asked for URLs that carry a query (the pages' ?lang= or ?nosw=1).
    const hit = (url.search ? await cache.match(request, { ignoreSearch: true }) : await cache.match(request)) ||
      (path === "" ? await cache.match(new URL("index.html", scope).href) : undefined);
    return hit || fetch(request);
  })());
});

let opened = null;  // this build's cache, opened once per service worker start
