'use strict';
/**
 * Figures 3-5 in headless Debian Chromium, on the e2e host page (the
 * simulated Flex UI 2.x, e2e/host) with the built bundle:
 *
 *   start    fresh context + page per load; the bundle evaluated inline,
 *            performance.now() from evaluation start to manager.events
 *            .addListener('taskWrapup'); plus where the time goes
 *   wrapup   one page; emit('taskWrapup') -> ITask.setAttributes() call
 *   memory   one page; JS heap (CDP Runtime.getHeapUsage after
 *            HeapProfiler.collectGarbage) and the wasm memory's byteLength,
 *            before and after n whole wrap-ups (in-page Functions stub)
 *
 * Pages are made cross-origin isolated (COOP/COEP added by a route) so that
 * performance.now() has 5 µs resolution instead of 100 µs.
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const { launch } = require(path.join(ROOT, 'e2e', 'support', 'browser.js'));
const { startHost } = require(path.join(ROOT, 'e2e', 'host', 'server.js'));

const PROBE = path.join(__dirname, 'page-probe.js');
const readFixture = (...p) => JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures', ...p), 'utf8'));

async function isolate(context) {
  await context.route('**/*', async (route) => {
    const res = await route.fetch();
    await route.fulfill({
      response: res,
      headers: { ...res.headers(), 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' },
    });
  });
}

/** A fresh context and page on the host, plugins not loaded yet (the probe loads them). */
async function openPage(browser, host, mosScore) {
  const context = await browser.newContext();
  await isolate(context);
  await context.addInitScript({ path: PROBE });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e && e.message)));
  await page.goto(host.pageUrl({ plugins: [], render: false, quiet: true, mosScore: mosScore || null }));
  const ready = await page.evaluate(() => window.FlexHost.ready);
  if (!ready) throw new Error('host page did not become ready');
  return { context, page, pageErrors };
}

async function loadPlugin(page, host) {
  return page.evaluate((url) => window.__bench.load(url), host.bundleUrl);
}

/** Bundle evaluation only (no listener expected): the floor's share of `evaluate`. */
async function measureEvaluate(browser, host, url, loads) {
  const rows = [];
  for (let i = 0; i < loads; i += 1) {
    const { context, page } = await openPage(browser, host, null);
    try {
      const m = await page.evaluate((u) => window.__bench.load(u, false), url);
      rows.push({ evaluate: m.evalEnd - m.evalStart });
    } finally {
      await context.close();
    }
  }
  return rows;
}

async function measureStart(browser, host, loads, url) {
  const rows = [];
  for (let i = 0; i < loads; i += 1) {
    const { context, page } = await openPage(browser, host, null);
    try {
      const m = await page.evaluate((u) => window.__bench.load(u), url || host.bundleUrl);
      if (!m.crossOriginIsolated) throw new Error('page is not cross-origin isolated (timer resolution would be 100 µs)');
      // Main thread until the listener: evaluation, decoding the inlined
      // base64, compile, instantiate, wasm-bindgen init + start(). Async: the
      // inflate (DecompressionStream) from its start to the compile.
      const decodeStart = m.decodeStart === undefined ? m.compileStart : m.decodeStart;
      const decodeEnd = m.inflateStart === undefined ? m.compileStart : m.inflateStart;
      const row = {
        total: m.listener - m.evalStart,
        evaluate: m.evalEnd - m.evalStart,
        // Plugins.init -> init() -> the loader starts decoding (the host's scheduling)
        toInit: decodeStart - m.evalEnd,
        decode: decodeEnd - decodeStart,
        inflate: m.compileStart - decodeEnd,
        compile: m.compileEnd - m.compileStart,
        instantiate: m.instantiateEnd - m.instantiateStart,
        // wasm-bindgen init after instantiation, then start(): config, SDK tap, addListener
        start: m.listener - m.instantiateEnd,
      };
      // WebAssembly.compile (async) runs off the main thread; new WebAssembly.Module does not.
      row.compileAsync = m.compileAsync === true;
      row.main = row.evaluate + row.decode + (row.compileAsync ? 0 : row.compile) + row.instantiate + row.start;
      rows.push(row);
    } finally {
      await context.close();
    }
  }
  return rows;
}

async function measureWrapups(browser, host, n) {
  const { context, page } = await openPage(browser, host, null);
  try {
    await loadPlugin(page, host);
    return await page.evaluate(([count, task]) => window.__bench.wrapups(count, task), [n, readFixture('tasks', 'voice_wrapup.json')]);
  } finally {
    await context.close();
  }
}

async function heap(cdp) {
  // Twice: the first pass may only move things to be collected by the next.
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize;
}

async function measureMemory(browser, host, n, delaySeconds) {
  const mosScore = { delaySeconds, logLevel: 'warn', functionsBaseUrl: 'http://localhost:3100' };
  const { context, page, pageErrors } = await openPage(browser, host, mosScore);
  try {
    const cdp = await context.newCDPSession(page);
    await page.evaluate((summary) => window.__bench.stubFetch(summary), readFixture('mos_summary.json'));
    await loadPlugin(page, host);
    const before = { heap: await heap(cdp), wasm: await page.evaluate(() => window.__bench.wasmMemoryBytes()) };
    if (before.wasm === null) throw new Error('the wasm instance exports no memory the probe could see');
    const task = readFixture('tasks', 'voice_wrapup.json');
    const batch = async (k) => {
      const flow = await page.evaluate(([count, t, offset]) => window.__bench.flow(count, t, offset, 120000), [n, task, k * n]);
      const errors = [...pageErrors, ...flow.errors];
      if (errors.length) throw new Error(`page errors during the flow: ${errors.slice(0, 3).join('; ')}`);
      const want = (k + 1) * n;
      if (flow.calls.get !== want || flow.calls.create !== want) {
        throw new Error(`expected ${want} get_mos_score and ${want} create_mos_score_task calls, saw ${flow.calls.get} and ${flow.calls.create}`);
      }
      return { flowMs: flow.ms, timersChecked: flow.timersChecked, heap: await heap(cdp), wasm: await page.evaluate(() => window.__bench.wasmMemoryBytes()) };
    };
    // The figure: n wrap-ups. Then n more, only to tell a one-time cost from a leak.
    const after = await batch(0);
    const again = await batch(1);
    return { n, delaySeconds, before, after, again, flowMs: after.flowMs, timersChecked: after.timersChecked };
  } finally {
    await context.close();
  }
}

/**
 * Runs the three browser figures; each one fails on its own.
 * compare: { floor: path, base64: path } bundles whose start is measured
 * beside ours over compareLoads loads (floor: evaluation only).
 */
async function measureBrowser({ bundlePath, loads = 50, wrapups = 1000, flows = 1000, delaySeconds = 0.01, compare = {}, compareLoads = 20 } = {}) {
  const out = {};
  const files = {};
  if (compare.floor) files['/plugins/plugin-floor.js'] = compare.floor;
  if (compare.base64) files['/plugins/plugin-mos-score.base64.js'] = compare.base64;
  if (compare.plumbing) files['/plugins/plugin-plumbing.js'] = compare.plumbing;
  const host = await startHost({ bundlePath, files });
  let browser;
  try {
    browser = await launch();
    for (const [key, fn] of [
      ['start', () => measureStart(browser, host, loads)],
      ['startFloor', () => (compare.floor ? measureEvaluate(browser, host, '/plugins/plugin-floor.js', compareLoads) : null)],
      ['startPlumbing', () => (compare.plumbing ? measureStart(browser, host, compareLoads, '/plugins/plugin-plumbing.js') : null)],
      ['startBase64', () => (compare.base64 ? measureStart(browser, host, compareLoads, '/plugins/plugin-mos-score.base64.js') : null)],
      ['wrapup', () => measureWrapups(browser, host, wrapups)],
      ['memory', () => measureMemory(browser, host, flows, delaySeconds)],
    ]) {
      try {
        out[key] = await fn();
      } catch (e) {
        out[`${key}Error`] = e;
      }
    }
  } finally {
    if (browser) await browser.close();
    await host.close();
  }
  return out;
}

module.exports = { measureBrowser };
