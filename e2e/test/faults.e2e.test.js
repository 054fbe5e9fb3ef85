'use strict';
/**
 * THE fault matrix (issue 5's scenarios), end to end against the shipped
 * bundle: the plugin bundle built by scripts/build-bundle.sh, loaded by the
 * REAL @twilio/flex-ui 2.17.1 loader in headless Debian Chromium (see
 * e2e/flex/harness.js), calling the Functions under the REAL twilio-run, which
 * call the fake Twilio (functions/test/support/fake-twilio.js).
 *
 * Each scenario wraps up its own original task (distinct WT/WR/CA SIDs, the
 * worker leg's metrics served by the fake) and ends by counting, in the fake
 * Twilio, the MOS tasks whose top-level `mos_score_for` is that task SID:
 * exactly one, none lost, none duplicated. Every scenario also checks: no page
 * error or unhandled rejection, and no console line carrying a Flex token.
 *
 * At the end one figure line is printed, computed from the fake's tasks:
 *   faults: N scenarios, N-1 MOS tasks, 0 lost, 0 duplicates; 1 not the agent's task, 0 MOS tasks written for it
 * FAULTS_TRACE=1 also prints each scenario's [mos-score] log with timings.
 *
 * Scenarios run one after another on one stack (the fake's failure rules are
 * global); each opens its own browser context (its own localStorage and Web
 * Locks), except where a scenario shares one on purpose (reloads, two tabs).
 */
const assert = require('node:assert/strict');
const path = require('path');

const S = require('../support/scenario');
const { ROOT } = require('../support/stack');
const { faults } = require(path.join(ROOT, 'functions', 'test', 'support', 'fake-twilio.js'));

const { sleep, waitUntil, scenario } = S;
/** Live Voice SDK samples played on the real Device's call: average 4.00, minimum 3.00, 1 of 4 poor. */
const SDK_SAMPLES = [4.5, 4.0, 3.0, 4.5];
const SDK_SUMMARY = { average: 4, minimum: 3, poorShare: 0.25, samples: 4 };

S.setup('faults (real Flex UI)', async () => {
  // Anything late (a duplicate from an earlier scenario) has had the later scenarios' time to show up.
  const counts = S.scenarios.filter((s) => s.expectMos).map((s) => S.mosTasksFor(s.taskSid).length);
  const refused = S.scenarios.filter((s) => !s.expectMos);
  const wrongly = refused.reduce((a, s) => a + S.mosTasksFor(s.taskSid).length, 0);
  const total = counts.reduce((a, b) => a + b, 0);
  const lost = counts.filter((n) => n === 0).length;
  const dups = counts.reduce((a, n) => a + Math.max(0, n - 1), 0);
  console.log(`faults: ${S.scenarios.length} scenarios, ${total} MOS tasks, ${lost} lost, ${dups} duplicates; ${refused.length} not the agent's task, ${wrongly} MOS tasks written for it`);
});

// ───────────────────────────────────────────────────────────── scenarios

scenario('1. reload mid-wait: the stored job resumes after the reload and honours the remaining delay', async (sc) => {
  const ctx = await S.context(sc);
  // Long enough for a reload of the real Flex page on a loaded 2-core machine (several seconds).
  const cfg = S.config({ delaySeconds: 8 });
  const page = await S.open(sc, ctx, cfg);
  await S.wrapup(page, sc.task);
  const job = JSON.parse(await waitUntil(() => S.storedJob(page, sc.key), 2000, 'the job in localStorage'));
  assert.equal(job.state, 'scheduled');
  assert.equal(job.callSid, sc.callSid);
  await sleep(200);
  await S.keepHostErrors(sc, page);
  assert.deepEqual(await S.load(page), [{ name: 'plugin-mos-score', state: 'Initialized' }], 'Flex initialised the plugin again after the reload');
  assert.ok(Date.now() < job.dueAt, `the reload was over before the job was due (a mid-wait reload; ${Date.now() - job.dueAt} ms late)`);
  assert.equal(S.twilioSeen(sc).metrics.length, 0, 'nothing asked before the due time');
  assert.ok(S.mosLines(sc).some((c) => c.text.includes(sc.taskSid) && c.text.includes('resuming MOS job')), `the job was resumed:\n${S.transcript(sc)}`);

  await S.waitForMosTask(sc);
  const seen = S.twilioSeen(sc);
  assert.equal(seen.metrics.length, 1, 'one metrics request');
  assert.ok(seen.metrics[0].at >= job.dueAt - 50, `the remaining delay was honoured (asked ${job.dueAt - seen.metrics[0].at} ms early)`);
  assert.equal(seen.creates.length, 1, 'one CreateTask');
  await S.finish(sc, [page], { source: 'voice-insights' });
});

scenario('2. reload after the due time: the tab is closed past the due time, the next load runs the job at once', async (sc) => {
  const ctx = await S.context(sc);
  const cfg = S.config({ delaySeconds: 0.5 });
  const first = await S.open(sc, ctx, cfg, 'tab1');
  await S.wrapup(first, sc.task);
  const job = JSON.parse(await waitUntil(() => S.storedJob(first, sc.key), 2000, 'the job in localStorage'));
  await S.keepHostErrors(sc, first);
  await first.close();

  await sleep(Math.max(0, job.dueAt - Date.now()) + 1000);
  assert.equal(S.twilioSeen(sc).metrics.length, 0, 'nothing ran while no tab was open');
  const second = await S.open(sc, ctx, cfg, 'tab2');
  // When the plugin of the second load was listening (the real Flex page itself takes seconds to load).
  const opened = S.mosLines(sc).filter((c) => c.text.includes('listening for taskWrapup')).pop().t;
  await S.waitForMosTask(sc);
  const seen = S.twilioSeen(sc);
  assert.equal(seen.metrics.length, 1, 'one metrics request');
  assert.ok(seen.metrics[0].at - opened < 2500, `run at once after the load (${seen.metrics[0].at - opened} ms)`);
  assert.equal(seen.creates.length, 1, 'one CreateTask');
  await S.finish(sc, [second], { source: 'voice-insights' });
});

scenario('3. two tabs of the same agent: both see the wrap-up, never run the job at once, one fetch and one create in all', async (sc) => {
  const ctx = await S.context(sc);
  const cfg = S.config({ delaySeconds: 0.8 });
  const [a, b] = await Promise.all([S.open(sc, ctx, cfg, 'tabA'), S.open(sc, ctx, cfg, 'tabB')]);
  assert.equal(await a.evaluate(() => typeof navigator.locks.request), 'function', 'Web Locks available');
  await Promise.all([S.wrapup(a, sc.task), S.wrapup(b, sc.task)]);
  await S.waitForMosTask(sc);
  // Past the finished job's 1 s lock linger and the other tab's next look.
  await sleep(2500);
  const intervals = (page) => page.evaluate(() => window.Harness.fetches.filter((f) => f.answeredAt).map((f) => ({ path: f.path, from: f.sentAt, to: f.answeredAt, status: f.status || f.error })));
  const [ra, rb] = [await intervals(a), await intervals(b)];
  sc.note = `get_mos_score ${[...ra, ...rb].filter((r) => r.path === '/get_mos_score').length}, create_mos_score_task ${[...ra, ...rb].filter((r) => r.path === '/create_mos_score_task').length} calls across both tabs`;
  assert.ok(ra.length + rb.length >= 2, 'the job ran');
  // Web Locks: the two tabs never have a request of this job in flight at the same time.
  for (const x of ra) {
    for (const y of rb) assert.ok(x.to <= y.from || y.to <= x.from, `tabs overlapped: A ${JSON.stringify(x)} B ${JSON.stringify(y)}\n${S.transcript(sc)}`);
  }
  // Exactly once in the plugin itself: one fetch and one create across both
  // tabs (the lock lingers until the job's removal has reached the other tab).
  const calls = [...ra, ...rb];
  assert.equal(calls.filter((r) => r.path === '/get_mos_score').length, 1, `one get_mos_score across both tabs\n${S.transcript(sc)}`);
  assert.equal(calls.filter((r) => r.path === '/create_mos_score_task').length, 1, `one create_mos_score_task across both tabs\n${S.transcript(sc)}`);
  const seen = S.twilioSeen(sc);
  assert.equal(seen.creates.length, 1, 'one CreateTask at Twilio');
  await S.finish(sc, [a, b], { source: 'voice-insights' });
});

scenario('4. not ready ×3, then ready', async (sc) => {
  // The fake serves no metrics for the first three requests of this call, then the real ones.
  const items = S.stack.fake.metricsByCall[sc.callSid];
  let served = 0;
  Object.defineProperty(S.stack.fake.metricsByCall, sc.callSid, {
    configurable: true,
    enumerable: true,
    get() {
      served += 1;
      return served <= 3 ? [] : items;
    },
  });
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({}));
  await S.wrapup(page, sc.task);
  await S.waitForMosTask(sc);
  const gets = await S.pageFetches(page, 'get_mos_score');
  assert.deepEqual(gets.map((f) => f.status), [404, 404, 404, 200], 'three "not ready" answers, then the MOS');
  for (const f of gets.slice(0, 3)) assert.equal(f.response.error.code, 'not_ready');
  assert.equal(S.twilioSeen(sc).metrics.length, 4);
  for (const n of [1, 2, 3]) assert.ok(S.mosLines(sc).some((c) => c.type === 'info' && c.text.includes(`retry ${n} in`)), `retry ${n} logged at info`);
  await S.finish(sc, [page], { source: 'voice-insights' });
});

scenario('5. 429: Twilio rate-limits (retried inside the Function), the Function answers 429 (retried by the plugin)', async (sc) => {
  // Five 429s on ListMetric: the first invocation uses its 4 attempts and answers 429 rate_limited,
  // the plugin's retry gets one more 429 (retried inside) and then the metrics. One 429 on CreateTask.
  S.stack.fake.addFailure(faults.rateLimited('metrics', 5));
  S.stack.fake.addFailure(faults.rateLimited('createTask', 1));
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({}));
  await S.wrapup(page, sc.task);
  await S.waitForMosTask(sc);
  const gets = await S.pageFetches(page, 'get_mos_score');
  assert.deepEqual(gets.map((f) => f.status), [429, 200], 'the Function answered 429 once, then the MOS');
  assert.equal(gets[0].response.error.code, 'rate_limited');
  const creates = await S.pageFetches(page, 'create_mos_score_task');
  assert.deepEqual(creates.map((f) => f.status), [200], 'the CreateTask 429 was absorbed by the Function');
  const seen = S.twilioSeen(sc);
  assert.deepEqual(seen.metrics.map((r) => r.status), [429, 429, 429, 429, 429, 200]);
  const allCreates = S.stack.fake.requests.slice(sc.firstRequest).filter((r) => r.route === 'createTask' && r.status === 429);
  assert.equal(allCreates.length, 1, 'the CreateTask 429 was served');
  await S.finish(sc, [page], { source: 'voice-insights' });
});

scenario('6. backend down, then up (and a lost create response)', async (sc) => {
  const ctx = await S.context(sc);
  const page = await S.newTab(sc, ctx);
  const base = S.stack.functionsBaseUrl;
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
    await S.load(page, S.config({}));
    await S.wrapup(page, sc.task);
    await S.waitForMosTask(sc);
    await waitUntil(() => S.mosLines(sc).some((c) => c.text.includes('already existed')), 10000, 'the retried create');
    assert.deepEqual(log, [
      '/get_mos_score: refused',
      '/get_mos_score: refused',
      '/get_mos_score: refused',
      '/get_mos_score: through',
      '/create_mos_score_task: 200 lost',
      '/create_mos_score_task: through',
    ]);
    const getRes = await S.pageFetches(page, 'get_mos_score');
    assert.deepEqual(getRes.map((f) => (f.error ? 'network' : f.status)), ['network', 'network', 'network', 200]);
    const createRes = await S.pageFetches(page, 'create_mos_score_task');
    assert.deepEqual(createRes.map((f) => (f.error ? 'network' : f.status)), ['network', 200]);
    assert.equal(createRes[1].response.created, false, 'the idempotent Function found the task of the lost answer');
    const seen = S.twilioSeen(sc);
    assert.equal(seen.metrics.length, 1, 'the stored MOS was reused: the retried create did not refetch');
    assert.equal(seen.creates.length, 1, 'one CreateTask');
    assert.ok(S.mosLines(sc).filter((c) => c.type === 'warning' && c.text.includes('network error')).length >= 4, 'network errors logged as warnings');
    await S.finish(sc, [page], { source: 'voice-insights' });
  } finally {
    await page.unrouteAll({ behavior: 'ignoreErrors' });
  }
});

scenario('7. expired token, then refreshed: 403 invalid_token is retried with the re-read token', async (sc) => {
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({}, { token: S.stack.agent.expiredToken }));
  await S.wrapup(page, sc.task);
  await waitUntil(async () => (await S.pageFetches(page, 'get_mos_score')).some((f) => f.status === 403), 10000, 'a 403 from get_mos_score');
  await page.evaluate((t) => window.Harness.setToken(t), S.stack.agent.token);
  await S.waitForMosTask(sc);
  const gets = await S.pageFetches(page, 'get_mos_score');
  assert.ok(gets.length >= 2);
  assert.ok(gets.slice(0, -1).every((f) => f.status === 403 && f.response.error.code === 'invalid_token'), JSON.stringify(gets.map((f) => f.status)));
  assert.equal(gets[gets.length - 1].status, 200);
  const iam = S.stack.fake.requests.slice(sc.firstRequest).filter((r) => r.route === 'validateToken');
  const tokens = iam.map((r) => r.body.token);
  assert.ok(tokens.includes(S.stack.agent.expiredToken), 'IAM saw the expired token');
  const firstValid = tokens.indexOf(S.stack.agent.token);
  assert.ok(firstValid > tokens.indexOf(S.stack.agent.expiredToken), 'then the refreshed one');
  assert.ok(tokens.slice(firstValid).every((t) => t === S.stack.agent.token), 'never the expired token again');
  assert.ok(S.mosLines(sc).some((c) => c.type === 'warning' && c.text.includes('invalid_token')), 'the 403 was logged (without the token)');
  await S.finish(sc, [page], { source: 'voice-insights' });
});

scenario('8. Advanced Features off (Twilio 17000): the live Voice SDK MOS is written instead', async (sc) => {
  S.stack.fake.addFailure(faults.advancedFeaturesOff(17000, 1));
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({}));
  await page.evaluate(([c, s]) => window.Harness.playSamples(c, s), [sc.callSid, SDK_SAMPLES]);
  await S.wrapup(page, sc.task);
  await S.waitForMosTask(sc);
  const gets = await S.pageFetches(page, 'get_mos_score');
  assert.deepEqual(gets.map((f) => f.status), [403]);
  assert.equal(gets[0].response.error.code, 'advanced_features_required');
  assert.equal(S.twilioSeen(sc).metrics[0].response.code, 17000);
  assert.ok(S.mosLines(sc).some((c) => c.type === 'warning' && c.text.includes('live Voice SDK MOS')), 'the fallback was logged');
  await S.finish(sc, [page], { source: 'sdk', summary: SDK_SUMMARY });
});

scenario('9. source "sdk": no get_mos_score at all, the MOS task is written at once from the SDK samples', async (sc) => {
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({ source: 'sdk', delaySeconds: 5 }));
  await page.evaluate(([c, s]) => window.Harness.playSamples(c, s), [sc.callSid, SDK_SAMPLES]);
  const wrapped = Date.now();
  await S.wrapup(page, sc.task);
  await S.waitForMosTask(sc);
  assert.ok(Date.now() - wrapped < 4000, `written without the 5 s delay (${Date.now() - wrapped} ms)`);
  await sleep(500);
  assert.equal((await S.pageFetches(page, 'get_mos_score')).length, 0, 'no get_mos_score call');
  assert.equal(S.twilioSeen(sc).metrics.length, 0, 'Voice Insights never asked');
  await S.finish(sc, [page], { source: 'sdk', summary: SDK_SUMMARY });
});

scenario('10. corrupted storage: start is not broken, a warning, the foreign keys untouched, a normal wrap-up still works', async (sc) => {
  const junkKey = S.jobKey(`WT${'0badc0de'.repeat(4)}`);
  const wrongShapeKey = S.jobKey(`WT${'0badf00d'.repeat(4)}`);
  const otherWorker = S.jobKey(`WT${'0'.repeat(31)}2`, { ...S.stack.agent, workerSid: `WK${'b'.repeat(32)}` });
  const foreign = { 'flex-ui:preferences': '{"theme":"dark"}', [otherWorker]: '{"v":2}', 'mos-score:v3:a-future-format': 'x', 'other-plugin:state': 'keep me' };
  const ctx = await S.context(sc);
  // Seed the origin's localStorage from a Flex page that loads no plugin, then load Flex with the plugin.
  const page = await S.newTab(sc, ctx);
  await page.goto(S.stack.page.pageUrl({ ...S.config({}), plugins: [] }));
  await page.evaluate(([junk, wrong, others]) => {
    localStorage.setItem(junk, '{"v":2,"taskSid":');
    localStorage.setItem(wrong, JSON.stringify({ v: 2, taskSid: 'not-a-sid', state: 'scheduled' }));
    for (const [k, v] of Object.entries(others)) localStorage.setItem(k, v);
  }, [junkKey, wrongShapeKey, foreign]);
  await S.load(page, S.config({}));
  assert.equal(await page.evaluate(() => window.Harness.listenerCount('taskWrapup')), 1, 'the plugin started and listens');
  for (const k of [junkKey, wrongShapeKey]) {
    assert.ok(S.mosLines(sc).some((c) => c.type === 'warning' && c.text.includes(k)), `a warning names ${k}:\n${S.transcript(sc)}`);
    assert.equal(await S.storedJob(page, k), null, `the corrupted entry ${k} is removed`);
  }
  for (const [k, v] of Object.entries(foreign)) assert.equal(await S.storedJob(page, k), v, `foreign key ${k} untouched`);
  await S.wrapup(page, sc.task);
  await S.waitForMosTask(sc);
  for (const [k, v] of Object.entries(foreign)) assert.equal(await S.storedJob(page, k), v, `foreign key ${k} still untouched`);
  await S.finish(sc, [page], { source: 'voice-insights' });
});

scenario(
  '11. not the agent’s task (no reservation of this worker at TaskRouter): 403 not_your_task, final, nothing written',
  async (sc) => {
    const ctx = await S.context(sc);
    const page = await S.open(sc, ctx, S.config({}));
    await S.wrapup(page, sc.task);
    await waitUntil(() => S.mosLines(sc).some((c) => c.type === 'error' && c.text.includes(sc.taskSid)), 10000, 'the final error line');
    await sleep(1500); // no retry may follow
    const gets = await S.pageFetches(page, 'get_mos_score');
    assert.deepEqual(gets.map((f) => [f.status, f.response && f.response.error && f.response.error.code]), [[403, 'not_your_task']], 'one refusal, no retry');
    assert.deepEqual(await S.pageFetches(page, 'create_mos_score_task'), [], 'no create asked');
    assert.equal(S.twilioSeen(sc).metrics.length, 0, 'Voice Insights never asked');
    assert.equal(S.mosTasksFor(sc.taskSid).length, 0, 'no MOS task');
    assert.equal(await S.storedJob(page, sc.key), null, 'the job is dropped');
    await S.keepHostErrors(sc, page);
    S.assertClean(sc);
  },
  { handled: false }
);
