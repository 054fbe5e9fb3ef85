'use strict';
/**
 * What every real-Flex e2e scenario shares: one stack and one browser per test
 * file, a scenario per original task (its own SIDs, its own browser contexts),
 * and the common end: exactly one MOS task for the original task, carrying the
 * link and the MOS expected from fixtures/metrics/expected.json (or the live
 * SDK summary), the job gone from storage, no page error, no token in a log line.
 *
 *   const S = require('../support/scenario');
 *   S.setup();                         // test.before/after: bundle, stack, browser
 *   S.scenario('name', async (sc) => { const tab = await S.open(sc, await S.context(sc), S.config()); ... });
 */
const test = require('node:test');
const assert = require('node:assert/strict');

const { startStack, mosTasksFor } = require('./stack');
const { launch, isolatedContext, openFlex, pluginsSettled } = require('./browser');
const { ensurePluginBundle } = require('./bundle');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const S = {
  stack: null,
  browser: null,
  bakedUrl: null,
  scenarios: [],
  tests: 0,
  sleep,
};

/** Builds (or reuses) the e2e plugin bundle, starts the stack and Chromium; prints `label` with the wall time at the end. */
S.setup = function setup(label, afterAll) {
  let t0;
  test.before(async () => {
    t0 = Date.now();
    const { bundlePath, functionsBaseUrl } = ensurePluginBundle({ quiet: true });
    S.bakedUrl = functionsBaseUrl;
    S.stack = await startStack({ bundlePath });
    S.browser = await launch();
  });
  test.after(async () => {
    try {
      if (afterAll && S.stack) await afterAll();
    } finally {
      if (S.browser) await S.browser.close();
      if (S.stack) await S.stack.close();
      console.log(`${label}: ${S.tests} scenarios in ${((Date.now() - t0) / 1000).toFixed(1)} s (wall time, stack start included)`);
    }
  });
};

async function waitUntil(pred, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
S.waitUntil = waitUntil;

/** The plugin's localStorage key of a job: scoped to the agent's account and worker. */
S.jobKey = (taskSid, agent = S.stack.agent) => `mos-score:v2:${agent.accountSid}:${agent.workerSid}:${taskSid}`;

/** The page configuration: the agent's token and worker, custom_data.mos_score. */
S.config = function config(mosScore, extra) {
  return {
    token: S.stack.agent.token,
    workerSid: S.stack.agent.workerSid,
    accountSid: S.stack.agent.accountSid,
    mosScore: { functionsBaseUrl: S.stack.functionsBaseUrl, delaySeconds: 0.5, retryBaseSeconds: 0.2, logLevel: 'debug', ...mosScore },
    ...(extra || {}),
  };
};

/** A new scenario around one seeded wrap-up (stack.seedCall(seed)). */
S.newScenario = function newScenario(name, seed) {
  const call = S.stack.seedCall(seed);
  const sc = {
    name,
    ...call,
    key: S.jobKey(call.taskSid),
    seen: { console: [], pageErrors: [] },
    hostErrors: [],
    contexts: [],
    firstRequest: S.stack.fake.requests.length,
    t0: Date.now(),
  };
  S.scenarios.push({ name, taskSid: call.taskSid, expectMos: !(seed && seed.handled === false) });
  return sc;
};

S.context = async function context(sc) {
  const ctx = await isolatedContext(S.browser, S.stack);
  sc.contexts.push(ctx);
  return ctx;
};

/** A tab on the real Flex page whose plugins have settled; its console goes into the scenario's log. */
S.open = async function open(sc, ctx, config, label) {
  const { page } = await openFlex(ctx, S.stack, config, sc.seen);
  page.label = label || 'tab';
  return page;
};

/** A tab whose console goes into the scenario's log, not yet on any page. */
S.newTab = async function newTab(sc, ctx) {
  const page = await ctx.newPage();
  page.on('console', (m) => sc.seen.console.push({ type: m.type(), text: m.text(), t: Date.now() }));
  page.on('pageerror', (e) => sc.seen.pageErrors.push(String(e && e.message)));
  return page;
};

/** Loads (or reloads) a page that is already open and waits for Flex's loader. */
S.load = async function load(page, config) {
  if (config) await page.goto(S.stack.page.pageUrl(config));
  else await page.reload();
  return pluginsSettled(page);
};

/** The page's own record of errors and unhandled rejections (kept before it goes away). */
S.keepHostErrors = async function keepHostErrors(sc, page) {
  sc.hostErrors.push(...(await page.evaluate(() => window.Harness.errors.slice())));
};

/** A reservation for the task arrives, is accepted and wraps up, each as Flex's WorkerListener handles it. */
S.wrapup = (page, task) =>
  page.evaluate((t) => {
    window.Harness.addTask(t);
    window.Harness.accept(t.taskSid);
    window.Harness.wrapup(t.taskSid);
  }, task);

S.storedJob = (page, key) => page.evaluate((k) => localStorage.getItem(k), key);
S.pageFetches = (page, fn) =>
  page.evaluate((name) => window.Harness.fetches.filter((f) => f.path === `/${name}`).map((f) => ({ status: f.status, error: f.error, response: f.response, fields: f.fields, from: f.sentAt, to: f.answeredAt })), fn);
S.mosLines = (sc) => sc.seen.console.filter((c) => c.text.startsWith('[mos-score]'));
S.transcript = (sc) => S.mosLines(sc).map((c) => `  +${c.t - sc.t0}ms ${c.type}: ${c.text}`).join('\n');
S.mosTasksFor = (taskSid) => mosTasksFor(S.stack.fake, taskSid);

/** What the fake Twilio saw for this scenario. */
S.twilioSeen = function twilioSeen(sc) {
  const reqs = S.stack.fake.requests.slice(sc.firstRequest);
  const createFor = (r) => {
    try {
      return JSON.parse(r.body.Attributes).mos_score_for === sc.taskSid;
    } catch (e) {
      return false;
    }
  };
  return {
    metrics: reqs.filter((r) => r.route === 'metrics' && r.path.includes(sc.callSid)),
    allMetrics: reqs.filter((r) => r.route === 'metrics'),
    creates: reqs.filter((r) => r.route === 'createTask' && createFor(r)),
  };
};

/** Waits for this scenario's MOS task (created and cancelled by the Function) and the plugin's line saying it was written. */
S.waitForMosTask = async function waitForMosTask(sc, timeoutMs) {
  const end = Date.now() + (timeoutMs || 15000);
  while (Date.now() < end) {
    const done = S.mosTasksFor(sc.taskSid).find((t) => t.assignment_status === 'canceled');
    if (done && S.mosLines(sc).some((c) => c.text.includes(`${sc.taskSid}: MOS task`) && c.text.includes(' written, MOS '))) return done;
    if (S.mosLines(sc).some((c) => c.type === 'error' && c.text.includes(sc.taskSid))) break;
    await sleep(25);
  }
  assert.fail(`no cancelled MOS task for ${sc.taskSid} (${sc.name}); the plugin said:\n${S.transcript(sc)}`);
};

function parseAttrs(t) {
  try {
    return JSON.parse(t.attributes);
  } catch (e) {
    return {};
  }
}

/**
 * The common end of a scenario that writes a MOS: let anything late show up,
 * then exactly one MOS task with the link, the MOS and the expected source.
 * `expect.summary` defaults to the fixture's summary from expected.json.
 */
S.finish = async function finish(sc, pages, expect) {
  await sleep(1200);
  const mine = S.mosTasksFor(sc.taskSid);
  assert.equal(mine.length, 1, `exactly one MOS task for ${sc.taskSid}; got ${mine.map((t) => t.sid).join(', ') || 'none'}\n${S.transcript(sc)}`);
  const attrs = parseAttrs(mine[0]);
  const summary = expect.summary || S.stack.call.expected.summary;
  assert.equal(mine[0].assignment_status, 'canceled', 'the MOS task was cancelled at once');
  assert.equal(attrs.conversations.conversation_id, sc.taskSid, 'linked to the original conversation');
  // Contract v2: the server builds the MOS task's attributes; none of the original task's (caller data) go in.
  assert.deepEqual(Object.keys(attrs.conversations).sort(), ['conversation_attribute_5', 'conversation_id', 'conversation_measure_5', 'virtual'], 'only the link, the flag and the MOS slot');
  assert.ok(!mine[0].attributes.includes('gold-tier'), 'no attribute of the original task copied');
  assert.equal(attrs.mos_score.source, expect.source, 'mos_score.source');
  assert.equal(attrs.mos_score.average, summary.average);
  assert.equal(attrs.mos_score.minimum, summary.minimum);
  assert.equal(attrs.mos_score.poorShare, summary.poorShare);
  assert.equal(attrs.mos_score.samples, summary.samples);
  assert.equal(attrs.conversations.conversation_attribute_5, summary.average.toFixed(2));
  assert.equal(Number(attrs.conversations.conversation_measure_5), summary.average);
  assert.ok(S.mosLines(sc).some((c) => c.text.includes(sc.taskSid) && c.text.includes(mine[0].sid)), 'the plugin logged the MOS task it wrote');
  for (const page of pages) {
    assert.equal(await S.storedJob(page, sc.key), null, 'the finished job is removed from localStorage');
    await S.keepHostErrors(sc, page);
  }
  S.assertClean(sc);
  return { mosTask: mine[0], attrs };
};

/** No uncaught exception, no unhandled rejection, no Flex token in a console line. */
S.assertClean = function assertClean(sc) {
  assert.deepEqual(sc.seen.pageErrors, [], 'no uncaught exception in any page');
  assert.deepEqual(sc.hostErrors, [], 'no page error or unhandled rejection recorded by the page');
  for (const c of sc.seen.console) {
    for (const tok of [S.stack.agent.token, S.stack.agent.expiredToken]) assert.ok(!c.text.includes(tok), `a Flex token leaked into a console line: ${c.text}`);
  }
};

/** Forces `n` full garbage collections in the page (Chromium --js-flags=--expose-gc). */
S.forceGc = (page, n = 5) =>
  page.evaluate(async (times) => {
    for (let i = 0; i < times; i += 1) {
      window.gc();
      await new Promise((r) => setTimeout(r, 20));
    }
  }, n);

/** Runs a scenario body, always closing its browser contexts. FAULTS_TRACE=1 prints each plugin log. */
S.scenario = function scenario(name, body, seed) {
  S.tests += 1;
  test(name, async () => {
    const sc = S.newScenario(name, seed);
    try {
      await body(sc);
    } finally {
      if (process.env.FAULTS_TRACE) console.log(`${name} (${Date.now() - sc.t0} ms)${sc.note ? `: ${sc.note}` : ''}\n${S.transcript(sc)}`);
      for (const c of sc.contexts) await c.close().catch(() => {});
    }
  });
};

module.exports = S;
