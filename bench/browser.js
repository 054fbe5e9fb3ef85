'use strict';
/**
 * Figures 3-5 in headless Debian Chromium (bench/page-probe.js in every page):
 *
 *   start    bench/start-page.html (no Flex: stand-in Plugins.init and
 *            manager, see that file for why), a fresh context and page per
 *            load; the bundle evaluated inline; performance.now() from
 *            evaluation start to the wasm core's addListener('taskWrapup'),
 *            split into main-thread work and the async steps
 *   wrapup   the REAL Flex UI page (e2e/flex, window.Harness): Flex's own
 *            WorkerListener path; emit('taskWrapup') -> the TaskRouter SDK
 *            task's setAttributes call
 *   memory   the real Flex page; JS heap (CDP Runtime.getHeapUsage after
 *            HeapProfiler.collectGarbage) and the wasm memory's byteLength,
 *            before and after n whole wrap-ups (in-page Functions stub),
 *            beside a control page: the same Flex page and the same tasks
 *            without the plugin
 *
 * Pages are made cross-origin isolated (COOP/COEP) so that performance.now()
 * has 5 µs resolution instead of 100 µs. The bundle is the bench's own
 * (scripts/bench.sh: out/bench-bundle/, Functions URL BENCH_FUNCTIONS_URL, an
 * https://….invalid host answered in-page); nothing leaves the machine: every
 * request to another origin is aborted.
 */
const fs = require('fs');
const http = require('http');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const { launch } = require(path.join(ROOT, 'e2e', 'support', 'browser.js'));
const { startPageServer } = require(path.join(ROOT, 'e2e', 'support', 'server.js'));
const { DEFAULTS } = require(path.join(ROOT, 'functions', 'test', 'support', 'fake-twilio.js'));

const PROBE = path.join(__dirname, 'page-probe.js');
const START_PAGE = path.join(__dirname, 'start-page.html');
const readFixture = (...p) => JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures', ...p), 'utf8'));
const COI = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/** The start page and the bundles under test, on loopback, cross-origin isolated. files: { '/plugins/x.js': path }. */
function startStartServer(files) {
  const routes = { '/': START_PAGE, ...files };
  const server = http.createServer((req, res) => {
    const file = routes[new URL(req.url, 'http://x').pathname];
    if (!file) {
      res.writeHead(404, COI);
      res.end();
      return;
    }
    res.writeHead(200, { ...COI, 'cache-control': 'no-store', 'content-type': file.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/javascript; charset=utf-8' });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      resolve({ url, close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))) });
    });
  });
}

/** A context in which only `origin` answers (with COOP/COEP added); everything else is aborted. */
async function isolatedContext(browser, origin) {
  const context = await browser.newContext();
  context.blocked = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (!url.startsWith(`${origin}/`)) {
      context.blocked.push(url);
      return route.abort('blockedbyclient');
    }
    const res = await route.fetch();
    return route.fulfill({ response: res, headers: { ...res.headers(), ...COI } });
  });
  await context.addInitScript({ path: PROBE });
  return context;
}

// ------------------------------------------------------------------ start

async function openStartPage(browser, server) {
  const context = await browser.newContext();
  await context.addInitScript({ path: PROBE });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e && e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  await page.goto(`${server.url}/`);
  return { context, page, problems };
}

/** Bundle evaluation only (no listener expected): the floor's share of `evaluate`. */
async function measureEvaluate(browser, server, url, loads) {
  const rows = [];
  for (let i = 0; i < loads; i += 1) {
    const { context, page } = await openStartPage(browser, server);
    try {
      const m = await page.evaluate((u) => window.__bench.load(u, false), url);
      rows.push({ evaluate: m.evalEnd - m.evalStart });
    } finally {
      await context.close();
    }
  }
  return rows;
}

/**
 * The loader's steps from the probe's marks (bench/page-probe.js). Main
 * thread: `init` (the synchronous part of the plugin's init(): the early
 * wrap-up queue, base64 decoding, setting up the inflate; `decode` is the
 * decoding alone), `instantiate`, `start` (wasm-bindgen's finalisation, then
 * start() up to the core's addListener) and `after` (the rest of that start()
 * call: stored jobs, early wrap-ups; not before the listener, reported
 * beside it). Async: `inflate` (from init() returning to the compile) and
 * `compile`.
 */
function loaderParts(m) {
  if (m.initStart === undefined || m.initEnd === undefined) throw new Error('the probe did not see the plugin\'s init() call');
  return {
    init: m.initEnd - m.initStart,
    decode: m.decodeStart === undefined ? 0 : m.decodeEnd - m.decodeStart,
    inflate: m.compileStart - m.initEnd,
    compile: m.compileEnd - m.compileStart,
    compileAsync: m.compileAsync === true,
    instantiate: m.instantiateEnd - m.instantiateStart,
    // wasm-bindgen's finalisation after instantiation, then start(): config, state, addListener
    start: m.listener - m.instantiateEnd,
    after: m.initSettled === undefined ? NaN : m.initSettled - m.listener,
  };
}

async function measureStart(browser, server, loads, url) {
  const rows = [];
  for (let i = 0; i < loads; i += 1) {
    const { context, page, problems } = await openStartPage(browser, server);
    try {
      const m = await page.evaluate((u) => window.__bench.load(u), url);
      if (problems.length) throw new Error(problems.slice(0, 3).join('; '));
      if (!m.crossOriginIsolated) throw new Error('page is not cross-origin isolated (timer resolution would be 100 µs)');
      if (m.listeners !== 1) throw new Error(`${m.listeners} taskWrapup listeners after the start (want 1: the core's; the loader's queue removed)`);
      // Main thread until the listener: evaluation, the plugin's init()
      // (queue, base64 decoding, inflate set-up), new WebAssembly.Instance,
      // wasm-bindgen's finalisation + start() up to addListener (one microtask
      // chain). Async: the inflate from init() returning to the compile, and
      // WebAssembly.compile. `after`: the rest of that start() call.
      const row = {
        total: m.listener - m.evalStart,
        evaluate: m.evalEnd - m.evalStart,
        ...loaderParts(m),
        // Plugins.init -> the plugin's init() (the host's scheduling)
        toInit: m.initStart - m.evalEnd,
        hold: m.hold - m.evalStart,
      };
      row.main = row.evaluate + row.init + (row.compileAsync ? 0 : row.compile) + row.instantiate + row.start;
      rows.push(row);
    } finally {
      await context.close();
    }
  }
  return rows;
}

// ------------------------------------------------------------------ real Flex page

/** The real Flex page with the bench bundle (or none: the control), plugins settled. */
async function openFlexPage(browser, flex, { plugin = true, mosScore } = {}) {
  const context = await isolatedContext(browser, flex.url);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e && e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().startsWith('[mos-score]')) problems.push(`console.error: ${m.text()}`);
  });
  const config = {
    token: DEFAULTS.validTokens[0],
    workerSid: DEFAULTS.workerSid,
    accountSid: DEFAULTS.accountSid,
    mosScore: { logLevel: 'warn', ...(mosScore || {}) },
    ...(plugin ? {} : { plugins: [] }),
  };
  await page.goto(flex.pageUrl(config));
  await page.waitForFunction(() => window.Harness && window.Harness.ready && window.Harness.pluginsSettled(), null, { timeout: 60000, polling: 50 });
  const states = await page.evaluate(() => window.Harness.pluginStates);
  if (plugin && !(states.length === 1 && states[0].state === 'Initialized')) throw new Error(`plugin states ${JSON.stringify(states)}`);
  const listeners = await page.evaluate(() => window.Harness.listenerCount('taskWrapup'));
  if (plugin && listeners !== 1) throw new Error(`${listeners} taskWrapup listeners on Flex's manager (want 1)`);
  return { context, page, problems };
}

/**
 * A few loads of the real Flex page (cross-check of the start page): from
 * Flex's Plugins.init being called (the bundle's evaluation is not observable
 * for a src script) to the core's listener, main thread vs async.
 */
async function measureFlexStart(browser, flex, loads) {
  const rows = [];
  for (let i = 0; i < loads; i += 1) {
    const { context, page, problems } = await openFlexPage(browser, flex);
    try {
      const m = await page.evaluate(() => Object.assign({ hooked: window.__bench.flexHooked === true, crossOriginIsolated: window.crossOriginIsolated === true }, window.__bench.marks));
      if (problems.length) throw new Error(problems.slice(0, 3).join('; '));
      if (!m.hooked || m.listener === undefined) throw new Error('the probe did not see Plugins.init and the core\'s listener on the Flex page');
      if (!m.crossOriginIsolated) throw new Error('page is not cross-origin isolated');
      const row = {
        total: m.listener - m.evalStart,
        ...loaderParts(m),
        toInit: m.initStart - m.evalStart,
      };
      row.main = row.init + (row.compileAsync ? 0 : row.compile) + row.instantiate + row.start;
      rows.push(row);
    } finally {
      await context.close();
    }
  }
  return rows;
}

async function measureWrapups(browser, flex, n) {
  const { context, page, problems } = await openFlexPage(browser, flex, { mosScore: { delaySeconds: 3600 } });
  try {
    const r = await page.evaluate(([count, task, worker]) => window.__bench.wrapups(count, task, worker), [n, readFixture('tasks', 'voice_wrapup.json'), DEFAULTS.workerSid]);
    const errors = [...problems, ...(await page.evaluate(() => window.Harness.errors.slice()))];
    if (errors.length) throw new Error(`page errors: ${errors.slice(0, 3).join('; ')}`);
    return r;
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

async function memoryRun(browser, flex, n, delaySeconds, plugin) {
  const { context, page, problems } = await openFlexPage(browser, flex, { plugin, mosScore: { delaySeconds } });
  try {
    const cdp = await context.newCDPSession(page);
    if (plugin) {
      await page.evaluate(([url, summary, token]) => window.__bench.stubFunctions(url, summary, token), [flex.functionsBaseUrl, readFixture('mos_summary.json'), DEFAULTS.validTokens[0]]);
    }
    const wasm = () => page.evaluate(() => window.__bench.wasmMemoryBytes());
    const before = { heap: await heap(cdp), wasm: await wasm() };
    if (plugin && before.wasm === null) throw new Error('the wasm instance exports no memory the probe could see');
    const instances = await page.evaluate(() => window.__bench.instances);
    if (instances !== (plugin ? 1 : 0)) throw new Error(`${instances} wasm instances on the page (want ${plugin ? 1 : 0}: the wasm memory figure would be ambiguous)`);
    const task = readFixture('tasks', 'voice_wrapup.json');
    const batch = async (k) => {
      const flow = await page.evaluate(([count, t, worker, offset, on]) => window.__bench.flow(count, t, worker, offset, 180000, on), [n, task, DEFAULTS.workerSid, k * n, plugin]);
      const errors = [...problems, ...flow.errors];
      if (errors.length) throw new Error(`page errors during the flow: ${errors.slice(0, 3).join('; ')}`);
      const want = plugin ? (k + 1) * n : 0;
      if (flow.calls.get !== want || flow.calls.create !== want || flow.stored !== 0) {
        throw new Error(`expected ${want} get_mos_score and ${want} create_mos_score_task calls and no stored job, saw ${flow.calls.get}, ${flow.calls.create}, ${flow.stored}`);
      }
      if (flow.calls.other) throw new Error(`${flow.calls.other} requests went past the in-page Functions stub`);
      return { flowMs: flow.ms, heap: await heap(cdp), wasm: await wasm() };
    };
    // The figure: n wrap-ups. Then n more, only to tell a one-time cost from a leak.
    const after = await batch(0);
    const again = await batch(1);
    return { before, after, again, flowMs: after.flowMs };
  } finally {
    await context.close();
  }
}

async function measureMemory(browser, flex, n, delaySeconds) {
  const withPlugin = await memoryRun(browser, flex, n, delaySeconds, true);
  let control = null;
  let controlError = null;
  try {
    control = await memoryRun(browser, flex, n, delaySeconds, false);
  } catch (e) {
    controlError = e;
  }
  return { n, delaySeconds, ...withPlugin, control, controlError };
}

/**
 * Runs the three browser figures; each one fails on its own.
 * bundlePath: the bench's bundle; functionsBaseUrl: the URL baked into it
 * (answered in-page). compare: { floor, base64, plumbing } bundles whose start
 * is measured beside ours over compareLoads loads (floor: evaluation only).
 */
async function measureBrowser({ bundlePath, functionsBaseUrl, loads = 50, flexLoads = 5, wrapups = 1000, flows = 1000, delaySeconds = 0.01, compare = {}, compareLoads = 20 }) {
  const out = {};
  const files = { '/plugins/plugin-mos-score.js': bundlePath };
  if (compare.floor) files['/plugins/plugin-floor.js'] = compare.floor;
  if (compare.base64) files['/plugins/plugin-mos-score.base64.js'] = compare.base64;
  if (compare.plumbing) files['/plugins/plugin-plumbing.js'] = compare.plumbing;
  const start = await startStartServer(files);
  const flex = await startPageServer({ bundlePath });
  flex.functionsBaseUrl = functionsBaseUrl;
  let browser;
  try {
    browser = await launch();
    for (const [key, fn] of [
      ['start', () => measureStart(browser, start, loads, '/plugins/plugin-mos-score.js')],
      ['startFloor', () => (compare.floor ? measureEvaluate(browser, start, '/plugins/plugin-floor.js', compareLoads) : null)],
      ['startPlumbing', () => (compare.plumbing ? measureStart(browser, start, compareLoads, '/plugins/plugin-plumbing.js') : null)],
      ['startBase64', () => (compare.base64 ? measureStart(browser, start, compareLoads, '/plugins/plugin-mos-score.base64.js') : null)],
      ['startFlex', () => (flexLoads > 0 ? measureFlexStart(browser, flex, flexLoads) : null)],
      ['wrapup', () => measureWrapups(browser, flex, wrapups)],
      ['memory', () => measureMemory(browser, flex, flows, delaySeconds)],
    ]) {
      try {
        out[key] = await fn();
      } catch (e) {
        out[`${key}Error`] = e;
      }
    }
  } finally {
    if (browser) await browser.close();
    await flex.close();
    await start.close();
  }
  return out;
}

module.exports = { measureBrowser };
