// What the worker keeps between visits, all in Cache Storage and all checked before use:
//   * the model cache: shipped model files, each verified against the sha256 build.py recorded;
//   * the boot cache: a Pyodide memory snapshot taken right after boot plus a file archive (the
//     installed packages, uncompressed, with the bytecode of the modules imported after boot),
//     versioned with the runtime and the wheel, checked by sha256;
//   * settings: small JSON values, e.g. the backend probed for a model in this browser.
// Where Cache Storage is missing or refused (a third-party frame in a browser that blocks site data
// there, e.g. Chromium with third-party cookies blocked: the widget on another site), everything still
// works without it: files come from the network (and the HTTP cache), nothing is remembered.

export const MODEL_CACHE = "kcsolver-models";
export const BOOT_CACHE = "kcsolver-boot";
const SETTINGS_CACHE = "kcsolver-settings";

export async function sha256(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

let unavailable = null;  // why Cache Storage cannot be used here, once that is known

// The named cache, or null where there is none to use.
async function openCache(name) {
  if (typeof caches === "undefined") {
    unavailable = "this context has no Cache Storage";
    return null;
  }
  try {
    return await caches.open(name);
  } catch (error) {
    unavailable = `Cache Storage refused (${error.name}: ${error.message})`;
    return null;
  }
}

export const cacheUnavailable = () => unavailable;

// ---------------------------------------------------------------- model files

// The response for a shipped model file: from the cache when its bytes still match `expected`,
// otherwise fetched (with `fetcher`), checked and stored. `notify` hears about hits and repairs.
export async function verifiedFetch(url, expected, fetcher, notify = () => {}) {
  const cache = await openCache(MODEL_CACHE);
  if (!cache) return checkedResponse(url, expected, await fetcher(url));
  const key = `${url}?sha256=${expected}`;
  const hit = await cache.match(key);
  let reload = false;
  if (hit) {
    const buffer = await hit.arrayBuffer();
    if (await sha256(buffer) === expected) {
      notify({ type: "cache", url, hit: true });
      return new Response(buffer, { status: 200, headers: hit.headers });
    }
    await cache.delete(key);  // corrupted entry: drop it and fetch again, bypassing the HTTP cache
    notify({ type: "cache", url, corrupted: true });
    reload = true;
  }
  const response = await checkedResponse(url, expected, await fetcher(url, reload ? { cache: "reload" } : undefined));
  if (!response.ok) return response;
  const buffer = await response.arrayBuffer();
  for (const old of await cache.keys()) {  // a new model version replaces the entries of the old one
    if (old.url.startsWith(url + "?") && old.url !== key) await cache.delete(old);
  }
  const headers = { "content-type": response.headers.get("content-type") || "application/octet-stream" };
  await cache.put(key, new Response(buffer, { headers }));
  notify({ type: "cache", url, stored: true });
  return new Response(buffer, { status: 200, headers });
}

async function checkedResponse(url, expected, response) {
  if (!response.ok) return response;
  const buffer = await response.arrayBuffer();
  const actual = await sha256(buffer);
  if (actual !== expected) {
    throw new Error(`integrity check failed for ${url}: sha256 ${actual}, expected ${expected} (stale or tampered file)`);
  }
  return new Response(buffer, { status: response.status, headers: response.headers });
}

// ---------------------------------------------------------------- boot cache

// Whether a boot cache (of any version) is stored: cheap, for deciding to wait for readBootCache.
export async function hasBootCache() {
  const cache = await openCache(BOOT_CACHE);
  if (!cache) throw new Error(cacheUnavailable());
  return Boolean(await cache.match("boot/meta.json"));
}

// {snapshot: Uint8Array, files: Uint8Array|null} for this version, or null. An entry of another
// version, or one whose bytes do not match the digests stored with it, is deleted.
export async function readBootCache(version) {
  const cache = await openCache(BOOT_CACHE);
  const meta = cache && await cache.match("boot/meta.json");
  if (!meta) return null;
  try {
    const info = await meta.json();
    if (info.version !== version) throw new Error(`stale (made for ${info.version})`);
    const parts = {};
    await Promise.all(["snapshot", "files"].filter((part) => info[part]).map(async (part) => {
      const entry = await cache.match(`boot/${part}`);
      if (!entry) throw new Error(`its ${part} is missing`);
      const bytes = new Uint8Array(await entry.arrayBuffer());
      if (await sha256(bytes) !== info[part]) throw new Error(`its ${part} is corrupt`);
      parts[part] = bytes;
    }));
    if (!parts.snapshot) throw new Error("it has no snapshot");
    return { snapshot: parts.snapshot, files: parts.files || null, libraries: info.libraries || null,
      digest: info.digest || null };
  } catch (error) {
    await dropBootCache();
    return { dropped: error.message };
  }
}

// `extra`: what restoring needs besides the bytes (snapshot.js: the side modules' record and the digest).
export async function writeBootCache(version, snapshot, files, extra = {}) {
  const cache = await openCache(BOOT_CACHE);
  if (!cache) return;
  const info = { version, snapshot: await sha256(snapshot), files: files ? await sha256(files) : null,
    made: new Date().toISOString(), ...extra };
  await cache.put("boot/snapshot", new Response(snapshot));
  if (files) await cache.put("boot/files", new Response(files));
  await cache.put("boot/meta.json", new Response(JSON.stringify(info)));  // last: the entry counts once complete
}

export async function dropBootCache() {
  if (await openCache(BOOT_CACHE)) await caches.delete(BOOT_CACHE);
}

// ---------------------------------------------------------------- settings

export async function readSetting(name) {
  const cache = await openCache(SETTINGS_CACHE);
  const hit = cache && await cache.match(`settings/${encodeURIComponent(name)}`);
  try {
    return hit ? await hit.json() : null;
  } catch {
    return null;
  }
}

export async function writeSetting(name, value) {
  const cache = await openCache(SETTINGS_CACHE);
  if (!cache) return;
  await cache.put(`settings/${encodeURIComponent(name)}`,
    new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } }));
}
