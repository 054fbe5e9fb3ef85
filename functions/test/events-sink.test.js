'use strict';
// mos_events end to end in-process (the real handler as twilio-run runs it, the
// real twilio helper, the fake Twilio whose Sync/TaskRouter/Insights answers are
// checked against Twilio's specs at close): either order, every event twice,
// exactly one MOS task; plugin and server for the same task, one MOS task.
const test = require('node:test');
const assert = require('node:assert/strict');
const twilio = require('twilio');
const { invoke, scenario, readFixture } = require('./support/harness');
const { cloudEvents, signedDelivery, runtimeEvent } = require('./support/event-streams');

const SINK = 'https://mos-score-functions-1234-dev.twil.io/mos_events';
const SYNC_SERVICE_SID = 'IS' + 'd4'.repeat(16);
const expected = readFixture('expected.json');
const CALL = expected['call_60.json'].callSid;
const METRICS = { [CALL]: readFixture('call_60.json') };

async function originalTask(w, worker = CALL, extra = {}) {
  const attrs = { ...JSON.parse(cloudEvents.task().data.payload.task_attributes), ...extra };
  attrs.conference.participants.worker = worker;
  const tasks = twilio(w.env.ACCOUNT_SID, w.env.AUTH_TOKEN).taskrouter.v1.workspaces(w.env.WORKSPACE_SID).tasks;
  const t = await tasks.create({ workflowSid: w.env.WORKFLOW_SID, taskChannel: 'voice', attributes: JSON.stringify(attrs) });
  return t.sid;
}

function deliver(w, batch) {
  const d = signedDelivery(batch, { sinkUrl: SINK, authToken: w.env.AUTH_TOKEN });
  return invoke('mos_events', { env: { ...w.env, SYNC_SERVICE_SID, MOS_EVENTS_URL: SINK }, event: runtimeEvent(d), headers: d.headers });
}

const mosTasks = (w) => [...w.fake.tasks.values()].filter((t) => t.task_channel_unique_name === 'mos_score');

async function captureLogs(fn) {
  const lines = [];
  const orig = { log: console.log, warn: console.warn, error: console.error };
  for (const k of Object.keys(orig)) console[k] = (...a) => lines.push(a.join(' '));
  try {
    await fn();
  } finally {
    Object.assign(console, orig);
  }
  return lines;
}

for (const order of ['task first, then summary', 'summary first, then task']) {
  test(`${order}, each delivered twice: exactly 1 MOS task with the get_mos_score summary`, () =>
    scenario({ metricsByCall: METRICS }, async (w) => {
      const taskSid = await originalTask(w);
      const task = cloudEvents.task({ id: 'EVtask0001', taskSid, workerLeg: CALL });
      const summary = cloudEvents.summary({ id: 'EVsum00001', callSid: CALL });
      const halves = order.startsWith('task') ? [task, summary] : [summary, task];
      const answers = [];
      for (const ce of halves) for (let i = 0; i < 2; i += 1) answers.push((await deliver(w, [ce])));
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200]);
      assert.deepEqual(answers.map((a) => a.body.joined + a.body.written + a.body.duplicates), [1, 1, 1, 1]);
      assert.equal(answers[2].body.written, 1, 'the second half writes');
      assert.equal(answers[3].body.duplicates, 1);
      const made = mosTasks(w);
      assert.equal(made.length, 1);
      assert.equal(made[0].assignment_status, 'canceled');
      const attrs = JSON.parse(made[0].attributes);
      assert.equal(attrs.conversations.conversation_id, taskSid);
      assert.deepEqual(attrs.mos_score, expected['call_60.json'].summary);
      const original = JSON.parse(w.fake.tasks.get(taskSid).attributes);
      assert.equal(original.conversations.conversation_id, taskSid, 'server linked the original task at wrap-up');
      assert.equal(w.count('metrics'), 1, 'one Voice Insights read per MOS');
    }));
}

test('both halves in one batch, and the batch delivered again out of order: 1 MOS task', () =>
  scenario({ metricsByCall: METRICS }, async (w) => {
    const taskSid = await originalTask(w);
    const task = cloudEvents.task({ id: 'EVtask0002', taskSid, workerLeg: CALL });
    const summary = cloudEvents.summary({ id: 'EVsum00002', callSid: CALL });
    const first = await deliver(w, [task, summary]);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.written, 1);
    const again = await deliver(w, [summary, task]);
    assert.deepEqual({ status: again.status, duplicates: again.body.duplicates, written: again.body.written }, { status: 200, duplicates: 2, written: 0 });
    assert.equal(mosTasks(w).length, 1);
  }));

test('the two halves in two deliveries at the same moment (the join item created concurrently, 409 then If-Match): 1 MOS task', () =>
  scenario({ metricsByCall: METRICS }, async (w) => {
    const taskSid = await originalTask(w);
    const [a, b] = await Promise.all([
      deliver(w, [cloudEvents.task({ id: 'EVrace0001', taskSid, workerLeg: CALL })]),
      deliver(w, [cloudEvents.summary({ id: 'EVrace0002', callSid: CALL })]),
    ]);
    assert.deepEqual([a.status, b.status], [200, 200], JSON.stringify([a.body, b.body]));
    assert.equal(a.body.written + b.body.written, 1);
    assert.equal(mosTasks(w).length, 1);
    const joinCreates = w.fake.requests.filter((r) => r.route === 'createSyncMapItem' && r.path.includes('/mos_score_join/') && r.status === 201);
    assert.equal(joinCreates.length, 1, 'one join item, created once');
    const item = w.fake.sync.maps.get('mos_score_join').items.get(CALL.slice(0, 2) + CALL.slice(2).toLowerCase());
    assert.deepEqual([Boolean(item.data.task), Boolean(item.data.summary), item.data.done], [true, true, true]);
  }));

test('a voice task with no SDK leg: no task, one clear [mos-score] line', () =>
  scenario({ metricsByCall: METRICS }, async (w) => {
    const taskSid = await originalTask(w);
    let res;
    const lines = await captureLogs(async () => {
      res = await deliver(w, [cloudEvents.task({ id: 'EVnoleg001', taskSid, workerLeg: null })]);
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.skipped, 1);
    assert.equal(mosTasks(w).length, 0);
    const mine = lines.filter((l) => /no SDK leg/.test(l));
    assert.equal(mine.length, 1, lines.join('\n'));
    assert.match(mine[0], /^\[mos-score\] mos_events: skipped: voice task WT\w+ has no SDK leg/);
    assert.equal(w.fake.requests.length - 1, 0, 'no Twilio call beyond creating the test task');
  }));

test('a summary whose call has no usable MOS: no task, one clear [mos-score] line', () =>
  scenario({ metricsByCall: { [CALL]: readFixture('only_nulls.json').map((m) => ({ ...m, call_sid: CALL })) } }, async (w) => {
    const taskSid = await originalTask(w);
    let second;
    const lines = await captureLogs(async () => {
      await deliver(w, [cloudEvents.task({ id: 'EVtask0003', taskSid, workerLeg: CALL })]);
      second = await deliver(w, [cloudEvents.summary({ id: 'EVsum00003', callSid: CALL })]);
    });
    assert.equal(second.status, 200);
    assert.equal(second.body.noMos, 1);
    assert.equal(mosTasks(w).length, 0);
    const mine = lines.filter((l) => /no usable sdk_edge MOS/.test(l));
    assert.equal(mine.length, 1, lines.join('\n'));
    assert.match(mine[0], /^\[mos-score\] mos_events: no usable sdk_edge MOS for call CA\w+ \(task WT\w+\) yet: no MOS task; a later call-summary event tries again$/);
    const again = await deliver(w, [cloudEvents.summary({ id: 'EVsum00003', callSid: CALL })]);
    assert.equal(again.body.duplicates, 1, 'a repeat does not ask Voice Insights again');
    assert.equal(w.count('metrics'), 1);
  }));

test('predicted-complete before Voice Insights has samples, then complete with samples: exactly 1 MOS task', () =>
  scenario({ metricsByCall: { [CALL]: [] }, unknownCall: 'empty' }, async (w) => {
    const taskSid = await originalTask(w);
    let early;
    const lines = await captureLogs(async () => {
      await deliver(w, [cloudEvents.task({ id: 'EVtask0004', taskSid, workerLeg: CALL })]);
      early = await deliver(w, [cloudEvents.summary({ id: 'EVsum00004', callSid: CALL, type: 'com.twilio.voice.insights.call-summary.predicted-complete' })]);
    });
    assert.equal(early.status, 200);
    assert.equal(early.body.noMos, 1);
    assert.equal(mosTasks(w).length, 0);
    assert.equal(lines.filter((l) => /^\[mos-score\] .*no usable sdk_edge MOS/.test(l)).length, 1, lines.join('\n'));
    const again = await deliver(w, [cloudEvents.summary({ id: 'EVsum00004', callSid: CALL, type: 'com.twilio.voice.insights.call-summary.predicted-complete' })]);
    assert.equal(again.body.duplicates, 1, 'a repeat of the same CloudEvent stays a duplicate');
    w.fake.metricsByCall[CALL] = readFixture('call_60.json');
    const late = await deliver(w, [cloudEvents.summary({ id: 'EVsum00005', callSid: CALL, type: 'com.twilio.voice.insights.call-summary.complete' })]);
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.equal(late.body.written, 1, JSON.stringify(late.body));
    const made = mosTasks(w);
    assert.equal(made.length, 1);
    assert.deepEqual(JSON.parse(made[0].attributes).mos_score, expected['call_60.json'].summary);
    const done = await deliver(w, [cloudEvents.summary({ id: 'EVsum00005', callSid: CALL, type: 'com.twilio.voice.insights.call-summary.complete' })]);
    assert.equal(done.body.duplicates, 1);
    assert.equal(mosTasks(w).length, 1);
  }));

test('a second task on the same agent call leg gets its own MOS task, with one [mos-score] warning naming both', () =>
  scenario({ metricsByCall: METRICS }, async (w) => {
    const first = await originalTask(w);
    const second = await originalTask(w);
    const lines = await captureLogs(async () => {
      await deliver(w, [cloudEvents.task({ id: 'EVtwo00001', taskSid: first, workerLeg: CALL })]);
      const s = await deliver(w, [cloudEvents.summary({ id: 'EVtwo00002', callSid: CALL })]);
      assert.equal(s.body.written, 1);
      const t = await deliver(w, [cloudEvents.task({ id: 'EVtwo00003', taskSid: second, workerLeg: CALL })]);
      assert.equal(t.status, 200, JSON.stringify(t.body));
      assert.equal(t.body.written, 1, JSON.stringify(t.body));
      const again = await deliver(w, [cloudEvents.task({ id: 'EVtwo00004', taskSid: second, workerLeg: CALL, type: 'com.twilio.taskrouter.task.completed' })]);
      assert.equal(again.body.duplicates, 1);
    });
    const made = mosTasks(w).map((t) => JSON.parse(t.attributes).mos_score_for).sort();
    assert.deepEqual(made, [first, second].sort(), 'one MOS task per original task');
    const warned = lines.filter((l) => /second task/.test(l));
    assert.equal(warned.length, 1, lines.join('\n'));
    assert.match(warned[0], /^\[mos-score\] /);
    assert.ok(warned[0].includes(first) && warned[0].includes(second), warned[0]);
  }));

test('an original task already in another conversation (a transfer segment): the MOS task joins that conversation, the original keeps it', () =>
  scenario({ metricsByCall: METRICS }, async (w) => {
    const earlier = 'WT' + 'e'.repeat(32);
    const taskSid = await originalTask(w, CALL, { conversations: { conversation_id: earlier } });
    await deliver(w, [cloudEvents.task({ id: 'EVconv0001', taskSid, workerLeg: CALL })]);
    const res = await deliver(w, [cloudEvents.summary({ id: 'EVconv0002', callSid: CALL })]);
    assert.equal(res.body.written, 1, JSON.stringify(res.body));
    const [made] = mosTasks(w);
    const attrs = JSON.parse(made.attributes);
    assert.equal(attrs.conversations.conversation_id, earlier, 'the MOS lands on the conversation the original task belongs to');
    assert.equal(attrs.mos_score_for, taskSid, 'the marker still names the original task');
    assert.equal(JSON.parse(w.fake.tasks.get(taskSid).attributes).conversations.conversation_id, earlier, 'kept on the original');
  }));

test('task.completed alone (no link step): the MOS task joins the conversation the event\'s task attributes carry', () =>
  scenario({ metricsByCall: METRICS }, async (w) => {
    const earlier = 'WT' + 'd'.repeat(32);
    const taskSid = await originalTask(w, CALL, { conversations: { conversation_id: earlier } });
    const attributes = JSON.parse(w.fake.tasks.get(taskSid).attributes);
    await deliver(w, [cloudEvents.summary({ id: 'EVconv0003', callSid: CALL })]);
    const res = await deliver(w, [cloudEvents.task({ id: 'EVconv0004', taskSid, workerLeg: CALL, type: 'com.twilio.taskrouter.task.completed', attributes })]);
    assert.equal(res.body.written, 1, JSON.stringify(res.body));
    assert.equal(JSON.parse(mosTasks(w)[0].attributes).conversations.conversation_id, earlier);
  }));

test('a Twilio failure answers 503 (Event Streams delivers again) and the redelivery finishes the job once', () =>
  scenario({ metricsByCall: METRICS }, async (w) => {
    const taskSid = await originalTask(w);
    await deliver(w, [cloudEvents.task({ id: 'EVtask0004', taskSid, workerLeg: CALL })]);
    // mos-twilio retries 5xx up to MAX_ATTEMPTS (4) times: all four fail
    w.fake.addFailure({ route: 'metrics', times: 4, status: 500, code: 20500, message: 'Internal Server Error' });
    const failed = await deliver(w, [cloudEvents.summary({ id: 'EVsum00004', callSid: CALL })]);
    assert.equal(failed.status, 503);
    assert.equal(failed.body.error.code, 'retry_later');
    assert.equal(mosTasks(w).length, 0);
    const redelivered = await deliver(w, [cloudEvents.summary({ id: 'EVsum00004', callSid: CALL })]);
    assert.equal(redelivered.status, 200, JSON.stringify(redelivered.body));
    assert.equal(redelivered.body.written, 1);
    assert.equal(mosTasks(w).length, 1);
  }));

/* ───── plugin mode and server mode for the same task: the shared ledger lets one write ───── */

const { VALID_TOKEN, TASK } = require('./support/harness');

async function pluginWrites(w) {
  const score = await invoke('get_mos_score', { env: w.env, event: { Token: VALID_TOKEN, TaskSid: TASK, CallSid: CALL } });
  assert.equal(score.status, 200, JSON.stringify(score.body));
  const s = score.body;
  const res = await invoke('create_mos_score_task', {
    env: w.env,
    event: { Token: VALID_TOKEN, TaskSid: TASK, CallSid: CALL, AttributeSlot: '5', Average: String(s.average), Minimum: String(s.minimum), PoorShare: String(s.poorShare), Samples: String(s.samples), Source: s.source, Proof: s.proof },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function serverWrites(w) {
  const joined = await deliver(w, [cloudEvents.task({ id: 'EVboth0001', taskSid: TASK, workerLeg: CALL })]);
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  const done = await deliver(w, [cloudEvents.summary({ id: 'EVboth0002', callSid: CALL })]);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  return done.body;
}

for (const [name, run] of [
  ['plugin first, then the server', async (w) => [await pluginWrites(w), await serverWrites(w)]],
  ['server first, then the plugin', async (w) => { const s = await serverWrites(w); return [await pluginWrites(w), s]; }],
  ['plugin and server at the same moment', async (w) => Promise.all([pluginWrites(w), serverWrites(w)])],
]) {
  test(`plugin (create_mos_score_task) and server (mos_events) for the same task, ${name}: exactly 1 MOS task`, () =>
    scenario({ metricsByCall: METRICS }, async (w) => {
      const [plugin, server] = await run(w);
      const made = mosTasks(w);
      assert.equal(made.length, 1);
      assert.equal(made[0].assignment_status, 'canceled');
      assert.equal(plugin.sid, made[0].sid);
      assert.equal(server.written + server.exists, 1);
      assert.equal(plugin.created, server.written === 0, 'exactly one of them created it');
      assert.equal(w.count('createTask'), 1);
    }));
}
