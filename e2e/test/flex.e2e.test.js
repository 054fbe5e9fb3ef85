'use strict';
/**
 * The plugin inside the REAL Flex UI (issue 9): the plugin bundle built by
 * scripts/build-bundle.sh, loaded by @twilio/flex-ui 2.17.1's own plugin
 * loader in headless Debian Chromium (e2e/flex/harness.js), calling the
 * Functions under the REAL twilio-run, which call the fake Twilio.
 *
 * Flex's PluginManager keeps no reference to the plugin instance after init,
 * so nothing here keeps the plugin alive but the plugin itself; the GC
 * scenarios force collections (window.gc()) between and during wrap-ups.
 *
 * Figures printed (counted in the run):
 *   flex-gc: taskWrapup listeners after N forced GCs: L
 *   flex-parallel: MOS tasks created for 50 parallel wrap-ups with GC forced: M/50
 *   flex (real Flex UI): N scenarios in T s
 */
const assert = require('node:assert/strict');

const S = require('../support/scenario');

const { sleep, waitUntil, scenario } = S;
const PARALLEL = 50;
const GCS = 5;

S.setup('flex (real Flex UI)');

const setAttributesCalls = (page, taskSid) => page.evaluate((sid) => window.Harness.setAttributesCalls.filter((c) => c.taskSid === sid), taskSid);

scenario('voice happy path: the wrap-up links the conversation and writes the call MOS into one MOS task', async (sc) => {
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({}));
  assert.equal(await page.evaluate(() => window.Harness.listenerCount('taskWrapup')), 1, 'exactly one taskWrapup listener');
  const before = JSON.parse(JSON.stringify(sc.task.attributes));
  await S.wrapup(page, sc.task);
  await S.waitForMosTask(sc);
  const { attrs: mosAttrs } = await S.finish(sc, [page], { source: 'voice-insights' });

  // The original task, through the real TaskRouterTask: linked once, every other key kept.
  const calls = await setAttributesCalls(page, sc.taskSid);
  assert.equal(calls.length, 1, 'one setAttributes on the original task');
  const attrs = await page.evaluate((sid) => window.Harness.attributes(sid), sc.taskSid);
  assert.equal(attrs.conversations.conversation_id, sc.taskSid, 'conversation_id = the task SID (not the reservation SID)');
  for (const [k, v] of Object.entries(before.conversations)) assert.equal(attrs.conversations[k], v, `conversations.${k} kept`);
  for (const k of Object.keys(before)) if (k !== 'conversations') assert.deepEqual(attrs[k], before[k], `attribute ${k} kept`);

  // One metrics query, on the worker leg, with Edge=sdk_edge; one CreateTask.
  const seen = S.twilioSeen(sc);
  assert.equal(seen.allMetrics.length, 1, 'exactly one Voice Insights metrics request');
  assert.equal(seen.metrics.length, 1, 'on the worker leg');
  assert.equal(seen.metrics[0].query.Edge, 'sdk_edge');
  assert.equal(seen.creates.length, 1, 'exactly one CreateTask');
  assert.equal(mosAttrs.conversations.virtual, 'Yes');

  // The plugin's HTTP: form-encoded POSTs carrying the token.
  const fetches = await page.evaluate(() => window.Harness.fetches.map((f) => ({ path: f.path, method: f.method, ct: f.contentType, status: f.status, fields: f.fields })));
  assert.deepEqual(fetches.map((f) => [f.method, f.path, f.status]), [
    ['POST', '/get_mos_score', 200],
    ['POST', '/create_mos_score_task', 200],
  ]);
  for (const f of fetches) {
    assert.match(String(f.ct), /application\/x-www-form-urlencoded/);
    assert.equal(f.fields.Token, '•••', 'Token sent');
  }
  // Contract v2 (docs/contract-v2-draft.md): SIDs and the summary, never the task's attributes.
  for (const f of fetches) {
    assert.equal(f.fields.TaskSid, sc.taskSid, `${f.path}: TaskSid is the original task`);
    assert.equal(f.fields.CallSid, sc.callSid, `${f.path}: CallSid is the worker leg`);
    assert.equal(f.fields.Attributes, undefined, `${f.path}: no attributes sent`);
  }
  assert.deepEqual(
    [...new Set(ctx.blocked.map((u) => new URL(u).host))].sort(),
    ['assets.flex.twilio.com', 'assets.twilio.com', 'media.twiliocdn.com', 'sdk.twilio.com'],
    'only Flex’s and the Voice SDK’s assets were blocked (fonts, countries, sounds); nothing of the plugin'
  );
});

scenario(
  'transfer back to the same worker: two worker legs with this worker’s SID (the earlier one left); the MOS is the current reservation’s leg',
  async (sc) => {
    const ctx = await S.context(sc);
    const page = await S.open(sc, ctx, S.config({}));
    await page.evaluate((t) => window.Harness.addTask(t), sc.task);
    const legs = await page.evaluate((sid) => window.Harness.task(sid).conference.participants.filter((p) => p.participantType === 'worker').map((p) => ({ callSid: p.callSid, status: p.status, isCurrentWorker: p.isCurrentWorker, reservationSid: p.reservationSid })), sc.taskSid);
    assert.deepEqual(legs.map((l) => [l.callSid, l.status, l.isCurrentWorker]), [
      [sc.earlierCallSid, 'left', true],
      [sc.callSid, 'joined', true],
    ], 'the real ConferenceParticipant: both legs are the current worker, the earlier one left');
    await page.evaluate((sid) => {
      window.Harness.accept(sid);
      window.Harness.wrapup(sid);
    }, sc.taskSid);
    await S.waitForMosTask(sc);
    const seen = S.twilioSeen(sc);
    assert.deepEqual(seen.allMetrics.map((r) => r.path.split('/')[3]), [sc.callSid], `the metrics of the current reservation’s leg only\n${S.transcript(sc)}`);
    await S.finish(sc, [page], { source: 'voice-insights' });
  },
  { kind: 'transfer' }
);

scenario(
  'chat task: nothing happens (no request, no attribute change, no error)',
  async (sc) => {
    const tasksBefore = S.stack.fake.tasks.size;
    const ctx = await S.context(sc);
    const page = await S.open(sc, ctx, S.config({}));
    await S.wrapup(page, sc.task);
    await sleep(2000);
    assert.equal(await page.evaluate(() => window.Harness.fetches.length), 0, 'no request from the page');
    assert.deepEqual(await setAttributesCalls(page, sc.taskSid), [], 'the chat task is left alone');
    assert.deepEqual(await page.evaluate((sid) => window.Harness.attributes(sid), sc.taskSid), sc.task.attributes);
    assert.equal(S.stack.fake.requests.length, sc.firstRequest, 'Twilio saw nothing');
    assert.equal(S.stack.fake.tasks.size, tasksBefore, 'no task created');
    await S.keepHostErrors(sc, page);
    S.assertClean(sc);
  },
  { kind: 'chat' }
);

scenario('GC: Flex keeps no plugin instance; after forced GCs the listener is still there and every wrap-up between GCs writes its MOS', async (sc) => {
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({ delaySeconds: 0.3 }));
  await S.forceGc(page, GCS);
  const listeners = await page.evaluate(() => window.Harness.listenerCount('taskWrapup'));
  console.log(`flex-gc: taskWrapup listeners after ${GCS} forced GCs: ${listeners}`);
  assert.equal(listeners, 1, 'the plugin still listens after the GCs (Flex holds no reference to it)');
  // Three wrap-ups, GCs forced before each and while each waits.
  const rounds = [sc, S.newScenario('GC round 2'), S.newScenario('GC round 3')];
  for (const r of rounds) {
    r.seen = sc.seen;
    await S.forceGc(page, 2);
    await S.wrapup(page, r.task);
    await S.forceGc(page, 2);
    await S.waitForMosTask(r);
  }
  for (const r of rounds) assert.equal(S.mosTasksFor(r.taskSid).length, 1, `one MOS task for ${r.taskSid}`);
  await S.keepHostErrors(sc, page);
  S.assertClean(sc);
});

scenario(`${PARALLEL} parallel wrap-ups with GC forced: one MOS task each`, async (sc) => {
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({ delaySeconds: 0.5 }));
  const all = [sc];
  for (let i = 1; i < PARALLEL; i += 1) all.push(S.newScenario(`parallel ${i + 1}`));
  await page.evaluate((tasks) => tasks.forEach((t) => {
    window.Harness.addTask(t);
    window.Harness.accept(t.taskSid);
  }), all.map((s) => s.task));
  await S.forceGc(page, GCS);
  const wrapped = Date.now();
  await page.evaluate((sids) => sids.forEach((sid) => window.Harness.wrapup(sid)), all.map((s) => s.taskSid));
  const done = () => all.filter((s) => S.mosTasksFor(s.taskSid).some((t) => t.assignment_status === 'canceled')).length;
  const end = Date.now() + 120000; // a bound, not a budget (the speed is bench's business)
  while (Date.now() < end && done() < PARALLEL) {
    await S.forceGc(page, 1);
    await sleep(200);
  }
  const took = ((Date.now() - wrapped) / 1000).toFixed(1);
  await sleep(1200);
  const counts = all.map((s) => S.mosTasksFor(s.taskSid).length);
  const created = counts.filter((n) => n > 0).length;
  console.log(`flex-parallel: MOS tasks created for ${PARALLEL} parallel wrap-ups with GC forced: ${created}/${PARALLEL} (${counts.reduce((a, n) => a + Math.max(0, n - 1), 0)} duplicates; ${took} s from the wrap-ups to the last MOS task or the 120 s bound)`);
  assert.equal(created, PARALLEL, `every wrap-up got its MOS task; the plugin's warnings and errors:\n${S.transcript(sc).split('\n').filter((l) => / (warning|error): /.test(l)).slice(-30).join('\n')}`);
  assert.ok(counts.every((n) => n === 1), 'no duplicates');
  await S.keepHostErrors(sc, page);
  S.assertClean(sc);
});

scenario('a wrap-up while the plugin is still loading (Flex emits task events without waiting for plugins): not lost', async (sc) => {
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({}, { wrapupOnScriptLoad: sc.task }));
  assert.deepEqual(await page.evaluate(() => window.Harness.earlyWrapup), { pluginState: 'Initialising' }, 'the wrap-up was emitted while Flex’s loader still had init() pending');
  await S.waitForMosTask(sc);
  await S.finish(sc, [page], { source: 'voice-insights' });
});

scenario('no functionsBaseUrl in custom_data: the build-time FLEX_APP_FUNCTIONS_BASE_URL is used', async (sc) => {
  assert.ok(S.bakedUrl, 'the e2e build baked a Functions URL in');
  const ctx = await S.context(sc);
  const cfg = S.config({});
  delete cfg.mosScore.functionsBaseUrl;
  const page = await S.open(sc, ctx, cfg);
  await S.wrapup(page, sc.task);
  await S.waitForMosTask(sc);
  const paths = ctx.forwarded.map((u) => new URL(u).pathname);
  assert.ok(ctx.forwarded.every((u) => u.startsWith(`${S.bakedUrl}/`)), ctx.forwarded.join('\n'));
  assert.ok(paths.includes('/get_mos_score') && paths.includes('/create_mos_score_task'), `both Functions called on the baked-in URL ${S.bakedUrl}: ${paths}`);
  await S.finish(sc, [page], { source: 'voice-insights' });
});

scenario('Functions unreachable: a clear log naming the task, the link still written, nothing created, no page error', async (sc) => {
  const ctx = await S.context(sc);
  const page = await S.newTab(sc, ctx);
  await page.route((url) => url.href.startsWith(`${S.stack.functionsBaseUrl}/`), (route) => route.abort('connectionrefused'));
  await S.load(page, S.config({ deadlineSeconds: 2 }));
  await S.wrapup(page, sc.task);
  const failed = () => S.mosLines(sc).filter((c) => c.type === 'error' && c.text.includes(sc.taskSid));
  await waitUntil(() => failed().length > 0, 15000, `a [mos-score] error naming ${sc.taskSid}`).catch(() => {});
  assert.ok(failed().length > 0, `a [mos-score] error naming ${sc.taskSid}; saw:\n${S.transcript(sc)}`);
  const attrs = await page.evaluate((sid) => window.Harness.attributes(sid), sc.taskSid);
  assert.equal(attrs.conversations.conversation_id, sc.taskSid, 'the link is still written (it needs no backend)');
  assert.equal(S.twilioSeen(sc).creates.length, 0, 'no MOS task');
  assert.equal(S.mosTasksFor(sc.taskSid).length, 0);
  await S.keepHostErrors(sc, page);
  S.assertClean(sc);
});

scenario('voice client re-initialised (Actions.shutdown + init: a new Device behind a new proxy): the live MOS follows manager.voiceClient', async (sc) => {
  const ctx = await S.context(sc);
  const page = await S.open(sc, ctx, S.config({ source: 'sdk' }));
  assert.equal(await page.evaluate(() => window.Harness.replaceVoiceClient(false)), true, 'a new Device');
  // The reservation arrives and is accepted, then the call rings on the (new) Device, then the wrap-up.
  await page.evaluate(([t, s]) => {
    window.Harness.addTask(t);
    window.Harness.accept(t.taskSid);
    window.Harness.playSamples(t.legs[t.legs.length - 1].callSid, s);
    window.Harness.wrapup(t.taskSid);
  }, [sc.task, [4.5, 4.0, 3.0, 4.5]]);
  await S.waitForMosTask(sc);
  await S.finish(sc, [page], { source: 'sdk', summary: { average: 4, minimum: 3, poorShare: 0.25, samples: 4 } });
});
