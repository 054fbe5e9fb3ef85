// The two browser calls of the shell that are a few lines of JS but 1.9 KB
// (Web Locks) and 3.1 KB (fetch with a time limit) of wasm when written with
// wasm-bindgen (measured by stubbing each out, issue 12). The wasm imports
// them (`#[wasm_bindgen(module = "/src/host.js")]` in src/backend.rs and
// src/lock.rs); js-shim/scripts/shrink-wasm.js inlines this file into the
// glue, so the bundle and every other build stay one self-contained file.
// Each returns a promise that never rejects: the Rust side has one way in.

/**
 * POSTs `fields` (a plain object) form-encoded to `url`, aborted after `ms`.
 * Resolves to `{ status, text }` when an answer came, `{ error }` when the
 * request failed (its message), `{}` when it was aborted for taking too long.
 */
export function post(url, fields, ms) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  return Promise.resolve()
    .then(() =>
      fetch(url, {
        method: 'POST',
        body: new URLSearchParams(fields).toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        signal: abort.signal,
      }),
    )
    .then((r) => r.text().then((text) => ({ status: r.status, text })))
    .catch((e) => (abort.signal.aborted ? {} : { error: String((e && e.message) || e) }))
    .finally(() => clearTimeout(timer));
}

/**
 * Tries to take the Web Lock `name` without waiting. Resolves to the lock's
 * release function while it is held, `null` when another tab holds it, and
 * `undefined` when the browser has no Web Locks or refused the request (the
 * job then runs unlocked: the backend's ledger still guards it).
 */
export function lock(name) {
  const locks = globalThis.navigator && navigator.locks;
  if (!locks || typeof locks.request !== 'function') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    try {
      locks
        .request(name, { ifAvailable: true }, (held) => (held ? new Promise((release) => resolve(release)) : resolve(null)))
        .catch(() => resolve(undefined));
    } catch (e) {
      resolve(undefined);
    }
  });
}

/** Calls `release` after `ms`. */
export function releaseAfter(release, ms) {
  setTimeout(release, ms);
}

// localStorage, or a Map for the life of the page when localStorage refuses
// (blocked, private mode, quota): the same four calls either way. Keys and
// values are strings.
const memory = new Map();

/** The value under `key`, or `null`. */
export function storeGet(key) {
  try {
    const v = localStorage.getItem(key);
    if (v !== null) return v;
  } catch (e) {
    // no localStorage: the Map answers
  }
  return memory.has(key) ? memory.get(key) : null;
}

/** Saves `value`; false when it could only be kept in memory. */
export function storeSet(key, value) {
  try {
    localStorage.setItem(key, value);
    memory.delete(key);
    return true;
  } catch (e) {
    memory.set(key, value);
    return false;
  }
}

/** Removes `key` from both. */
export function storeRemove(key) {
  try {
    localStorage.removeItem(key);
  } catch (e) {
    // nothing stored there
  }
  memory.delete(key);
}

/** Every key that starts with `prefix` (an array of strings). */
export function storeKeys(prefix) {
  const keys = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k !== null && k.startsWith(prefix)) keys.push(k);
    }
  } catch (e) {
    // only the Map
  }
  for (const k of memory.keys()) if (k.startsWith(prefix)) keys.push(k);
  return keys;
}

/** One console line at `level` (0 debug, 1 info, 2 warn, 3 error). */
export function log(level, line) {
  console[['debug', 'info', 'warn', 'error'][level]](line);
}
