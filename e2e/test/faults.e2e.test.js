'use strict';
/**
 * Issue 5's fault scenarios, end to end: the BUILT plugin bundle in headless
 * Debian Chromium (simulated Flex host page), the Functions under the REAL
 * twilio-run, and the fake Twilio (functions/test/support/fake-twilio.js).
 *
 * Each scenario wraps up its own original task (a distinct WT… SID, on its own
 * CA… worker leg whose metrics the fake serves) and ends by counting, in the
 * fake Twilio, the MOS tasks whose top-level `mos_score_for` (added by the
 * Function) is that original task SID: exactly one, none lost, none duplicated.
 * Every scenario also checks: no page error or unhandled rejection, and no
 * console line carrying a Flex token.
 *
 * At the end one figure line is printed, computed from the fake's tasks:
 *   faults: 10 scenarios, 10 MOS tasks, 0 lost, 0 duplicates
 * FAULTS_TRACE=1 also prints each scenario's [mos-score] log with timings.
 *
 * Scenarios run one after another on one stack (the fake's failure rules are
 * global); each opens its own browser context (its own localStorage and Web
 * Locks), except where a scenario shares one on purpose (reloads, two tabs).
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');

const { startStack, taskOnCall, ROOT } = require('../support/stack');
const { launch } = require('../support/browser');
const { faults } = require(path.join(ROOT, 'functions', 'test', 'support', 'fake-twilio.js'));

const BUNDLE = path.join(ROOT, 'js-shim', 'build', 'plugin-mos-score.js');
const PREFIX = 'mos-score:v1:job:';
const EXPIRED_TOKEN = 'expired-flex-token-5e1f0c9a';
/** Live Voice SDK samples played on the fake voiceClient: average 4.00, minimum 3.00, 1 of 4 poor. */
const SDK_SAMPLES = [4.5, 4.0, 3.0, 4.5];
const SDK_SUMMARY = { average: 4, minimum: 3, poorShare: 0.25, samples: 4 };

let stack;
let browser;
/** Every scenario that started: { name, taskSid }; the figure line counts their MOS tasks. */
const scenarios = [];
let seq = 0;

test.before(async () => {
  assert.ok(fs.existsSync(BUNDLE), `no plugin bundle at ${BUNDLE}: run scripts/build-bundle.sh (or e2e/run.sh)`);
  stack = await startStack({ fixture: 'call_360.json', bundlePath: BUNDLE });
  browser = await launch();
});

test.after(async () => {
  try {
    if (stack && scenarios.length) {
      // Anything late (a duplicate from an earlier scenario) has had the later scenarios' time to show up.
      const counts = scenarios.map((s) => mosTasksFor(s.taskSid).length);
      const total = counts.reduce((a, b) => a + b, 0);
      const lost = counts.filter((n) => n === 0).length;
      const dups = counts.reduce((a, n) => a + Math.max(0, n - 1), 0);
      console.log(`faults: ${scenarios.length} scenarios, ${total} MOS tasks, ${lost} lost, ${dups} duplicates`);
    }
  } finally {
    if (browser) await browser.close();
    if (stack) await stack.close();
  }
});

// ───────────────────────────────────────────────────────────── helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(pred, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * A new scenario: a distinct original task SID and worker call leg, the leg's
 * metrics (the call_360 fixture, re-keyed) served by the fake Twilio.
 */
function newScenario(name) {
  seq += 1;
  const hex = (0xfa010000 + seq).toString(16).padStart(32, '0');
  const taskSid = `WT${hex}`;
  const callSid = `CA${hex}`;
  stack.fake.metricsByCall[callSid] = stack.call.items.map((i) => ({ ...i, call_sid: callSid }));
  const task = taskOnCall('voice_wrapup.json', callSid);
  task.taskSid = taskSid;
  const sc = { name, taskSid, callSid, task, key: PREFIX + taskSid, seen: { console: [], pageErrors: [], hostErrors: [] }, contexts: [], firstRequest: stack.fake.requests.length, t0: Date.now() };
  scenarios.push({ name, taskSid });
  return sc;
}

function parseAttrs(t) {
  try {
    return JSON.parse(t.attributes);
  } catch (e) {
    return {};
  }
}

/** The fake Twilio's MOS tasks for an original task (the Function's top-level mos_score_for). */
function mosTasksFor(taskSid) {
  return [...stack.fake.tasks.values()].filter((t) => parseAttrs(t).mos_score_for === taskSid);
}

/** What the fake Twilio saw for this scenario. */
function twilioSeen(sc) {
  const reqs = stack.fake.requests.slice(sc.firstRequest);
  const createFor = (r) => {
    try {
      return JSON.parse(r.body.Attributes).mos_score_for === sc.taskSid;
    } catch (e) {
      return false;
    }
  };
  return {
    metrics: reqs.filter((r) => r.route === 'metrics' && r.path.includes(sc.callSid)),
    creates: reqs.filter((r) => r.route === 'createTask' && createFor(r)),
  };
}

function pageConfig(mosScore, token) {
  return {
    token: token || stack.token,
    title: 'Flex',
    render: false,
    mosScore: { functionsBaseUrl: stack.functionsBaseUrl, delaySeconds: 0.5, retryBaseSeconds: 0.2, logLevel: 'debug', ...mosScore },
  };
}

/** Records what a page says into the scenario's log (survives reloads; several pages may share it). */
function watch(sc, page, label) {
  page.on('console', (m) => sc.seen.console.push({ page: label, type: m.type(), text: m.text(), t: Date.now() - sc.t0 }));
  page.on('pageerror', (e) => sc.seen.pageErrors.push(`${label}: ${e && e.message}`));
}

async function newContext(sc) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  sc.contexts.push(context);
  return context;
}

/** Opens the host page (loads the bundle, as Flex does) in `context`; resolves once plugin init is done. */
async function openPage(sc, context, config, label) {
  const page = await context.newPage();
  watch(sc, page, label || 'tab');
  await loadHost(page, config);
  return page;
}

async function loadHost(page, config) {
  await page.goto(stack.host.pageUrl(config));
  assert.equal(await page.evaluate(() => window.FlexHost.ready), true, 'the host page loaded the plugin bundle');
}

/** The host's own record of page errors and unhandled rejections, taken before the page goes away. */
async function keepHostErrors(sc, page) {
  const errs = await page.evaluate(() => window.FlexHost.errors.slice());
  sc.seen.hostErrors.push(...errs);
}

async function wrapup(page, task) {
  await page.evaluate((t) => {
    window.FlexHost.addTask(t);
    window.FlexHost.wrapup(t.taskSid);
  }, task);
}

const storedJob = (page, key) => page.evaluate((k) => localStorage.getItem(k), key);
const pageFetches = (page, fn) =>
  page.evaluate((name) => window.FlexHost.fetches.filter((f) => f.path === `/${name}`).map((f) => ({ status: f.status, error: f.error, response: f.response, fields: f.fields })), fn);
/** The page's Functions requests as [sent, answered] times (ms since the epoch). */
const requestIntervals = (page) =>
  page.evaluate(() => {
    const sent = new Map();
    const out = [];
    for (const e of window.FlexHost.timeline) {
      if (e.kind === 'fetch') sent.set(e.data, Date.parse(e.at));
      if (e.kind === 'response') out.push({ path: e.data.path, from: sent.get(e.data), to: Date.parse(e.at), status: e.data.status || e.data.error });
    }
    return out;
  });
const mosLines = (sc) => sc.seen.console.filter((c) => c.text.startsWith('[mos-score]'));
const transcript = (sc) => mosLines(sc).map((c) => `  +${c.t}ms ${c.page} ${c.type}: ${c.text}`).join('\n');

/** Waits for this scenario's MOS task (created and cancelled by the Function) and the plugin's line saying it was written. */
async function waitForMosTask(sc, timeoutMs) {
  const end = Date.now() + (timeoutMs || 15000);
  while (Date.now() < end) {
    const done = mosTasksFor(sc.taskSid).find((t) => t.assignment_status === 'canceled');
    if (done && mosLines(sc).some((c) => c.text.includes(`${sc.taskSid}: MOS task`) && c.text.includes(' written, MOS '))) return done;
    const fatal = mosLines(sc).find((c) => c.type === 'error' && c.text.includes(sc.taskSid));
    if (fatal) break;
    await sleep(25);
  }
  assert.fail(`no cancelled MOS task for ${sc.taskSid} (${sc.name}); the plugin said:\n${transcript(sc)}`);
}

/**
 * The common end of every scenario: let anything late show up, then exactly
 * one MOS task for the original task, carrying the link, the MOS and the
 * expected source; the job gone from storage; no page error; no token in a log line.
 */
async function finish(sc, pages, expect) {
  await sleep(1200);
  const mine = mosTasksFor(sc.taskSid);
  assert.equal(mine.length, 1, `exactly one MOS task for ${sc.taskSid}; got ${mine.map((t) => t.sid).join(', ') || 'none'}\n${transcript(sc)}`);
  const attrs = parseAttrs(mine[0]);
  assert.equal(mine[0].assignment_status, 'canceled', 'the MOS task was cancelled at once');
  assert.equal(attrs.conversations.conversation_id, sc.taskSid, 'linked to the original conversation');
  assert.equal(attrs.conversations.conversation_attribute_1, 'gold-tier', 'the original task’s other conversation attributes kept');
  assert.equal(attrs.mos_score.source, expect.source, 'mos_score.source');
  if (expect.summary) {
    assert.equal(attrs.mos_score.average, expect.summary.average);
    assert.equal(attrs.mos_score.minimum, expect.summary.minimum);
    assert.equal(attrs.mos_score.poorShare, expect.summary.poorShare);
    assert.equal(attrs.mos_score.samples, expect.summary.samples);
    assert.equal(attrs.conversations.conversation_attribute_5, expect.summary.average.toFixed(2));
    assert.equal(Number(attrs.conversations.conversation_measure_5), expect.summary.average);
  } else {
    assert.equal(attrs.conversations.conversation_attribute_5, stack.call.expected.summary.average.toFixed(2));
    assert.equal(attrs.mos_score.samples, stack.call.expected.summary.samples);
  }
  assert.ok(mosLines(sc).some((c) => c.text.includes(sc.taskSid) && c.text.includes(mine[0].sid)), 'the plugin logged the MOS task it wrote');
  for (const page of pages) {
    assert.equal(await storedJob(page, sc.key), null, 'the finished job is removed from localStorage');
    await keepHostErrors(sc, page);
  }
  assert.deepEqual(sc.seen.pageErrors, [], 'no uncaught exception in any page');
  assert.deepEqual(sc.seen.hostErrors, [], 'no page error or unhandled rejection recorded by the host');
  for (const c of sc.seen.console) {
    for (const tok of [stack.token, EXPIRED_TOKEN]) assert.ok(!c.text.includes(tok), `a Flex token leaked into a console line: ${c.text}`);
  }
  return { mosTask: mine[0], attrs };
}

async function closeAll(sc) {
  for (const c of sc.contexts) await c.close().catch(() => {});
}

/** Runs a scenario body, always closing its browser contexts. */
function scenario(name, body) {
  test(name, async () => {
    const sc = newScenario(name);
    try {
      await body(sc);
    } finally {
      // FAULTS_TRACE=1 prints each scenario's plugin log with times (ms since the scenario started).
      if (process.env.FAULTS_TRACE) console.log(`${name} (${Date.now() - sc.t0} ms)${sc.note ? `: ${sc.note}` : ''}\n${transcript(sc)}`);
      await closeAll(sc);
    }
  });
}

// ───────────────────────────────────────────────────────────── scenarios

scenario('1. reload mid-wait: the stored job resumes after the reload and honours the remaining delay', async (sc) => {
  const ctx = await newContext(sc);
  const cfg = pageConfig({ delaySeconds: 1.5 });
  const page = await openPage(sc, ctx, cfg);
  await wrapup(page, sc.task);
  const job = JSON.parse(await waitUntil(() => storedJob(page, sc.key), 2000, 'the job in localStorage'));
  assert.equal(job.state, 'scheduled');
  assert.equal(job.callSid, sc.callSid);
  await sleep(200);
  await keepHostErrors(sc, page);
  await page.reload();
  assert.equal(await page.evaluate(() => window.FlexHost.ready), true, 'the plugin ran again after the reload');
  assert.ok(Date.now() < job.dueAt, 'the reload was over before the job was due (a mid-wait reload)');
  assert.equal(twilioSeen(sc).metrics.length, 0, 'nothing asked before the due time');
  assert.ok(mosLines(sc).some((c) => c.text.includes(sc.taskSid) && c.text.includes('resuming MOS job')), `the job was resumed:\n${transcript(sc)}`);

  await waitForMosTask(sc);
  const seen = twilioSeen(sc);
  assert.equal(seen.metrics.length, 1, 'one metrics request');
  assert.ok(seen.metrics[0].at >= job.dueAt - 50, `the remaining delay was honoured (asked ${job.dueAt - seen.metrics[0].at} ms early)`);
  assert.equal(seen.creates.length, 1, 'one CreateTask');
  await finish(sc, [page], { source: 'voice-insights' });
});

scenario('2. reload after the due time: the tab is closed past the due time, the next load runs the job at once', async (sc) => {
  const ctx = await newContext(sc);
  const cfg = pageConfig({ delaySeconds: 0.5 });
  const first = await openPage(sc, ctx, cfg, 'tab1');
  await wrapup(first, sc.task);
  const job = JSON.parse(await waitUntil(() => storedJob(first, sc.key), 2000, 'the job in localStorage'));
  await keepHostErrors(sc, first);
  await first.close();

  await sleep(Math.max(0, job.dueAt - Date.now()) + 1000);
  assert.equal(twilioSeen(sc).metrics.length, 0, 'nothing ran while no tab was open');
  const opened = Date.now();
  const second = await openPage(sc, ctx, cfg, 'tab2');
  await waitForMosTask(sc);
  const seen = twilioSeen(sc);
  assert.equal(seen.metrics.length, 1, 'one metrics request');
  assert.ok(seen.metrics[0].at - opened < 2500, `run at once after the load (${seen.metrics[0].at - opened} ms)`);
  assert.equal(seen.creates.length, 1, 'one CreateTask');
  await finish(sc, [second], { source: 'voice-insights' });
});

scenario('3. two tabs of the same agent: both see the wrap-up, never run the job at once, one fetch and one create in all', async (sc) => {
  const ctx = await newContext(sc);
  const cfg = pageConfig({ delaySeconds: 0.8 });
  const [a, b] = await Promise.all([openPage(sc, ctx, cfg, 'tabA'), openPage(sc, ctx, cfg, 'tabB')]);
  assert.equal(await a.evaluate(() => typeof navigator.locks.request), 'function', 'Web Locks available');
  await Promise.all([wrapup(a, sc.task), wrapup(b, sc.task)]);
  await waitForMosTask(sc);
  // Past the finished job's 1 s lock linger and the other tab's next look.
  await sleep(2500);
  const [ra, rb] = [await requestIntervals(a), await requestIntervals(b)];
  sc.note = `get_mos_score ${[...ra, ...rb].filter((r) => r.path === '/get_mos_score').length}, create_mos_score_task ${[...ra, ...rb].filter((r) => r.path === '/create_mos_score_task').length} calls across both tabs`;
  assert.ok(ra.length + rb.length >= 2, 'the job ran');
  // Web Locks: the two tabs never have a request of this job in flight at the same time.
  for (const x of ra) {
    for (const y of rb) assert.ok(x.to <= y.from || y.to <= x.from, `tabs overlapped: A ${JSON.stringify(x)} B ${JSON.stringify(y)}\n${transcript(sc)}`);
  }
  // Exactly once in the plugin itself: one fetch and one create across both
  // tabs (the lock lingers until the job's removal has reached the other tab).
  const calls = [...ra, ...rb];
  assert.equal(calls.filter((r) => r.path === '/get_mos_score').length, 1, `one get_mos_score across both tabs\n${transcript(sc)}`);
  assert.equal(calls.filter((r) => r.path === '/create_mos_score_task').length, 1, `one create_mos_score_task across both tabs\n${transcript(sc)}`);
  const seen = twilioSeen(sc);
  assert.equal(seen.creates.length, 1, 'one CreateTask at Twilio');
  await finish(sc, [a, b], { source: 'voice-insights' });
});

scenario('4. not ready ×3, then ready', async (sc) => {
  // The fake serves no metrics for the first three requests of this call, then the real ones.
  const items = stack.fake.metricsByCall[sc.callSid];
  let served = 0;
  Object.defineProperty(stack.fake.metricsByCall, sc.callSid, {
    configurable: true,
    enumerable: true,
    get() {
      served += 1;
      return served <= 3 ? [] : items;
    },
  });
  const ctx = await newContext(sc);
  const page = await openPage(sc, ctx, pageConfig({}));
  await wrapup(page, sc.task);
  await waitForMosTask(sc);
  const gets = await pageFetches(page, 'get_mos_score');
  assert.deepEqual(gets.map((f) => f.status), [404, 404, 404, 200], 'three "not ready" answers, then the MOS');
  for (const f of gets.slice(0, 3)) assert.equal(f.response.error.code, 'not_ready');
  assert.equal(twilioSeen(sc).metrics.length, 4);
  for (const n of [1, 2, 3]) assert.ok(mosLines(sc).some((c) => c.type === 'info' && c.text.includes(`retry ${n} in`)), `retry ${n} logged at info`);
  await finish(sc, [page], { source: 'voice-insights' });
});

scenario('5. 429: Twilio rate-limits (retried inside the Function), the Function answers 429 (retried by the plugin)', async (sc) => {
  // Five 429s on ListMetric: the first invocation uses its 4 attempts and answers 429 rate_limited,
  // the plugin's retry gets one more 429 (retried inside) and then the metrics. One 429 on CreateTask.
  stack.fake.addFailure(faults.rateLimited('metrics', 5));
  stack.fake.addFailure(faults.rateLimited('createTask', 1));
  const ctx = await newContext(sc);
  const page = await openPage(sc, ctx, pageConfig({}));
  await wrapup(page, sc.task);
  await waitForMosTask(sc);
  const gets = await pageFetches(page, 'get_mos_score');
  assert.deepEqual(gets.map((f) => f.status), [429, 200], 'the Function answered 429 once, then the MOS');
  assert.equal(gets[0].response.error.code, 'rate_limited');
  const creates = await pageFetches(page, 'create_mos_score_task');
  assert.deepEqual(creates.map((f) => f.status), [200], 'the CreateTask 429 was absorbed by the Function');
  const seen = twilioSeen(sc);
  assert.deepEqual(seen.metrics.map((r) => r.status), [429, 429, 429, 429, 429, 200]);
  const allCreates = stack.fake.requests.slice(sc.firstRequest).filter((r) => r.route === 'createTask' && r.status === 429);
  assert.equal(allCreates.length, 1, 'the CreateTask 429 was served');
  await finish(sc, [page], { source: 'voice-insights' });
});

scenario('6. backend down, then up (and a lost create response)', async (sc) => {
  const ctx = await newContext(sc);
  const page = await ctx.newPage();
  watch(sc, page, 'tab');
  const base = stack.functionsBaseUrl;
  const log = [];
  let gets = 0;
  let creates = 0;
  await page.route((url) => url.href.startsWith(`${base}/`), async (route) => {
    const fn = new URL(route.request().url()).pathname;
    if (fn === '/get_mos_score' && ++gets <= 3) {
      log.push(`${fn}: refused`);
      return route.abort('connectionrefused'); // Functions unreachable
    }
    if (fn === '/create_mos_score_task' && ++creates === 1) {
      // The Function runs (and creates the task), but its answer never reaches the browser.
      const res = await route.fetch();
      log.push(`${fn}: ${res.status()} lost`);
      return route.abort('connectionreset');
    }
    log.push(`${fn}: through`);
    return route.continue();
  });
  try {
    await loadHost(page, pageConfig({}));
    await wrapup(page, sc.task);
    await waitForMosTask(sc);
    await waitUntil(() => mosLines(sc).some((c) => c.text.includes('already existed')), 10000, 'the retried create');
    assert.deepEqual(log, [
      '/get_mos_score: refused',
      '/get_mos_score: refused',
      '/get_mos_score: refused',
      '/get_mos_score: through',
      '/create_mos_score_task: 200 lost',
      '/create_mos_score_task: through',
    ]);
    const getRes = await pageFetches(page, 'get_mos_score');
    assert.deepEqual(getRes.map((f) => (f.error ? 'network' : f.status)), ['network', 'network', 'network', 200]);
    const createRes = await pageFetches(page, 'create_mos_score_task');
    assert.deepEqual(createRes.map((f) => (f.error ? 'network' : f.status)), ['network', 200]);
    assert.equal(createRes[1].response.created, false, 'the idempotent Function found the task of the lost answer');
    const seen = twilioSeen(sc);
    assert.equal(seen.metrics.length, 1, 'the stored MOS was reused: the retried create did not refetch');
    assert.equal(seen.creates.length, 1, 'one CreateTask');
    assert.ok(mosLines(sc).filter((c) => c.type === 'warning' && c.text.includes('network error')).length >= 4, 'network errors logged as warnings');
    await finish(sc, [page], { source: 'voice-insights' });
  } finally {
    await page.unrouteAll({ behavior: 'ignoreErrors' });
  }
});

scenario('7. expired token, then refreshed: 403 invalid_token is retried with the re-read token', async (sc) => {
  const ctx = await newContext(sc);
  const page = await openPage(sc, ctx, pageConfig({}, EXPIRED_TOKEN));
  await wrapup(page, sc.task);
  await waitUntil(async () => (await pageFetches(page, 'get_mos_score')).some((f) => f.status === 403), 10000, 'a 403 from get_mos_score');
  await page.evaluate((t) => window.FlexHost.setToken(t), stack.token);
  await waitForMosTask(sc);
  const gets = await pageFetches(page, 'get_mos_score');
  assert.ok(gets.length >= 2);
  assert.ok(gets.slice(0, -1).every((f) => f.status === 403 && f.response.error.code === 'invalid_token'), JSON.stringify(gets.map((f) => f.status)));
  assert.equal(gets[gets.length - 1].status, 200);
  const iam = stack.fake.requests.slice(sc.firstRequest).filter((r) => r.route === 'validateToken');
  const tokens = iam.map((r) => r.body.token);
  assert.ok(tokens.includes(EXPIRED_TOKEN), 'IAM saw the expired token');
  const firstValid = tokens.indexOf(stack.token);
  assert.ok(firstValid > tokens.indexOf(EXPIRED_TOKEN), 'then the refreshed one');
  assert.ok(tokens.slice(firstValid).every((t) => t === stack.token), 'never the expired token again');
  assert.ok(mosLines(sc).some((c) => c.type === 'warning' && c.text.includes('invalid_token')), 'the 403 was logged (without the token)');
  await finish(sc, [page], { source: 'voice-insights' });
});

scenario('8. Advanced Features off (Twilio 17000): the live Voice SDK MOS is written instead', async (sc) => {
  stack.fake.addFailure(faults.advancedFeaturesOff(17000, 1));
  const ctx = await newContext(sc);
  const page = await openPage(sc, ctx, pageConfig({}));
  await page.evaluate(([c, s]) => window.FlexHost.playCall(c, s), [sc.callSid, SDK_SAMPLES]);
  await wrapup(page, sc.task);
  await waitForMosTask(sc);
  const gets = await pageFetches(page, 'get_mos_score');
  assert.deepEqual(gets.map((f) => f.status), [403]);
  assert.equal(gets[0].response.error.code, 'advanced_features_required');
  assert.equal(twilioSeen(sc).metrics[0].response.code, 17000);
  assert.ok(mosLines(sc).some((c) => c.type === 'warning' && c.text.includes('live Voice SDK MOS')), 'the fallback was logged');
  await finish(sc, [page], { source: 'sdk', summary: SDK_SUMMARY });
});

scenario('9. source "sdk": no get_mos_score at all, the MOS task is written at once from the SDK samples', async (sc) => {
  const ctx = await newContext(sc);
  const page = await openPage(sc, ctx, pageConfig({ source: 'sdk', delaySeconds: 5 }));
  await page.evaluate(([c, s]) => window.FlexHost.playCall(c, s), [sc.callSid, SDK_SAMPLES]);
  const wrapped = Date.now();
  await wrapup(page, sc.task);
  await waitForMosTask(sc);
  assert.ok(Date.now() - wrapped < 4000, `written without the 5 s delay (${Date.now() - wrapped} ms)`);
  await sleep(500);
  assert.equal((await pageFetches(page, 'get_mos_score')).length, 0, 'no get_mos_score call');
  assert.equal(twilioSeen(sc).metrics.length, 0, 'Voice Insights never asked');
  await finish(sc, [page], { source: 'sdk', summary: SDK_SUMMARY });
});

scenario('10. corrupted storage: start is not broken, a warning, the foreign keys untouched, a normal wrap-up still works', async (sc) => {
  const junkKey = `${PREFIX}WT${'0badc0de'.repeat(4)}`;
  const wrongShapeKey = `${PREFIX}WT${'0badf00d'.repeat(4)}`;
  const foreign = { 'flex-ui:preferences': '{"theme":"dark"}', 'mos-score:v2:job:WT00000000000000000000000000000002': 'a future format', 'other-plugin:state': 'keep me' };
  const ctx = await newContext(sc);
  // Seed the origin's localStorage from a host page that loads no plugin, then load Flex with the plugin.
  const page = await ctx.newPage();
  watch(sc, page, 'tab');
  await page.goto(stack.host.pageUrl({ ...pageConfig({}), plugins: [] }));
  await page.evaluate(([junk, wrong, others]) => {
    localStorage.setItem(junk, '{"v":1,"taskSid":');
    localStorage.setItem(wrong, JSON.stringify({ v: 1, taskSid: 'not-a-sid', state: 'scheduled' }));
    for (const [k, v] of Object.entries(others)) localStorage.setItem(k, v);
  }, [junkKey, wrongShapeKey, foreign]);
  await loadHost(page, pageConfig({}));
  assert.equal(await page.evaluate(() => window.FlexHost.listenerCount('taskWrapup')), 1, 'the plugin started and listens');
  for (const k of [junkKey, wrongShapeKey]) {
    assert.ok(mosLines(sc).some((c) => c.type === 'warning' && c.text.includes(k)), `a warning names ${k}:\n${transcript(sc)}`);
    assert.equal(await storedJob(page, k), null, `the corrupted entry ${k} is removed`);
  }
  for (const [k, v] of Object.entries(foreign)) assert.equal(await storedJob(page, k), v, `foreign key ${k} untouched`);
  await wrapup(page, sc.task);
  await waitForMosTask(sc);
  for (const [k, v] of Object.entries(foreign)) assert.equal(await storedJob(page, k), v, `foreign key ${k} still untouched`);
  await finish(sc, [page], { source: 'voice-insights' });
});
