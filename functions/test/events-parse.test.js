'use strict';
// Server mode, pure rules: the CloudEvents we use (fixtures built from Twilio's
// documented examples), the batch as a Function receives it, and the join fold.
const test = require('node:test');
const assert = require('node:assert/strict');
require('./support/harness'); // globals Runtime/Twilio as twilio-run sets them
const ev = require('../functions/mos-events.private');
const { cloudEvents, signedDelivery, runtimeEvent } = require('./support/event-streams');

const TASK = 'WT7b9e1c0a5f3d4e2b8c6a1f0e9d8c7b6a';
const LEG = 'CA5d986adf240c1ef06182d079fb257591';

test('task wrapup (schema 4, fields under data.payload) gives the task and its worker leg, SIDs lowercased', () => {
  const half = ev.parseEvent(cloudEvents.task({ taskSid: 'WT7B9E1C0A5F3D4E2B8C6A1F0E9D8C7B6A' }));
  assert.deepEqual({ kind: half.kind, taskSid: half.taskSid, callSid: half.callSid, channel: half.channel }, { kind: 'task', taskSid: TASK, callSid: LEG, channel: 'voice' });
});

test('task event with the fields directly in data (schema versions 1-3) parses the same', () => {
  const ce = cloudEvents.task();
  ce.data = { ...ce.data.payload };
  ce.dataschema = 'https://events-schemas.twilio.com/TaskRouter.WDSEvent/3';
  const half = ev.parseEvent(ce);
  assert.equal(half.taskSid, TASK);
  assert.equal(half.callSid, LEG);
});

test('call-summary predicted-complete and complete give the call leg', () => {
  for (const type of [ev.TYPES.SUMMARY_PREDICTED, ev.TYPES.SUMMARY_COMPLETE]) {
    const half = ev.parseEvent(cloudEvents.summary({ type }));
    assert.deepEqual({ kind: half.kind, callSid: half.callSid, type: half.type }, { kind: 'summary', callSid: LEG, type });
  }
});

test('skips with one clear reason: chat task, voice task with no SDK leg, other types, broken envelopes', () => {
  const reasons = [
    [cloudEvents.task({ channel: 'chat' }), /channel "chat", not voice/],
    [cloudEvents.task({ workerLeg: null }), /voice task WT7b9e.* has no SDK leg \(conference.participants.worker is missing\)/],
    [cloudEvents.task({ workerLeg: 'client:agent' }), /has no SDK leg/],
    [{ ...cloudEvents.summary(), type: 'com.twilio.voice.insights.call-summary.partial' }, /does not use/],
    [{ ...cloudEvents.summary(), id: undefined }, /no usable "id"/],
    [{ ...cloudEvents.summary(), data: { call_sid: 'CA1' } }, /no valid call_sid/],
    ['not an object', /not a CloudEvent object/],
    // the sink test event (sinks:test:create), as Twilio's blog example shows it
    [{ specversion: '1.0', type: 'com.twilio.eventstreams.test-event', source: 'Sink', id: 'AC11111111111111111111111111111111', dataschema: 'https://events-schemas.twilio.com/EventStreams.TestSink/1.json', datacontenttype: 'application/json', time: '2026-06-10T06:02:54.377Z', data: { test_id: 'cae2f9e2-c277-4612-8ad3-93c1a7a3ef88' } }, /type com.twilio.eventstreams.test-event, which this sink does not use/],
  ];
  for (const [ce, re] of reasons) assert.throws(() => ev.parseEvent(ce), (err) => err.name === 'SkipEvent' && re.test(err.message), String(re));
});

test('readBatch: an array body arrives as keys "0", "1", ... next to request and the query', () => {
  const batch = [cloudEvents.task(), cloudEvents.summary()];
  const event = runtimeEvent(signedDelivery(batch, { sinkUrl: 'https://x.twil.io/mos_events', authToken: 't' }));
  assert.ok(event.request.headers['x-twilio-signature']);
  assert.match(event.bodySHA256, /^[0-9a-f]{64}$/);
  assert.deepEqual(ev.readBatch(event), batch);
  assert.equal(ev.bodyText(ev.readBatch(event)), JSON.stringify(batch));
  const single = runtimeEvent(signedDelivery(batch[1], { sinkUrl: 'https://x.twil.io/mos_events', authToken: 't' }));
  assert.deepEqual(ev.readBatch(single), [batch[1]]);
  assert.equal(ev.readBatch({ request: {}, foo: 'bar' }), null);
});

test('sinkUrl: MOS_EVENTS_URL as given to sinks:create, else https://DOMAIN_NAME/PATH, plus bodySHA256', () => {
  assert.equal(ev.sinkUrl({ DOMAIN_NAME: 'x-1-dev.twil.io', PATH: '/mos_events' }, 'ab'), 'https://x-1-dev.twil.io/mos_events?bodySHA256=ab');
  assert.equal(ev.sinkUrl({ MOS_EVENTS_URL: 'https://h/mos_events?s=1', DOMAIN_NAME: 'x' }, 'ab'), 'https://h/mos_events?s=1&bodySHA256=ab');
});

test('mergeHalf: either order, duplicates by id and redundant halves change nothing', () => {
  const task = ev.parseEvent(cloudEvents.task({ id: 'EVt1' }));
  const sum = ev.parseEvent(cloudEvents.summary({ id: 'EVs1' }));
  for (const [a, b] of [[task, sum], [sum, task]]) {
    const first = ev.mergeHalf(null, a);
    assert.equal(first.changed, true);
    assert.equal(ev.isReady(first.data), false);
    assert.equal(ev.mergeHalf(first.data, a).duplicate, true);
    const both = ev.mergeHalf(first.data, b);
    assert.equal(both.changed, true);
    assert.equal(ev.isReady(both.data), true);
    assert.equal(both.data.task.sid, TASK);
    assert.deepEqual(ev.mergeHalf(both.data, b), { data: both.data, changed: false, duplicate: true });
    assert.equal(ev.isReady({ ...both.data, done: true }), false);
  }
  const completed = ev.parseEvent(cloudEvents.task({ id: 'EVt2', type: ev.TYPES.TASK_COMPLETED }));
  assert.equal(ev.mergeHalf(ev.mergeHalf(null, task).data, completed).duplicate, true, 'task.completed after task.wrapup');
});

test('mergeHalf: a second task on the same call leg is kept next to the first (compared by task SID), not dropped as a duplicate', () => {
  const OTHER = 'WT' + 'fedcba9876543210'.repeat(2);
  const task = ev.parseEvent(cloudEvents.task({ id: 'EVt1' }));
  const sum = ev.parseEvent(cloudEvents.summary({ id: 'EVs1' }));
  const second = ev.parseEvent(cloudEvents.task({ id: 'EVt2', taskSid: OTHER }));
  const both = ev.mergeHalf(ev.mergeHalf(null, task).data, sum).data;
  const written = { ...both, done: true, written: { [TASK]: 'WT' + 'e'.repeat(32) } };
  const merged = ev.mergeHalf(written, second);
  assert.equal(merged.changed, true);
  assert.equal(merged.duplicate, false);
  assert.equal(merged.data.task.sid, TASK, 'the first task stays');
  assert.deepEqual(merged.data.more.map((t) => t.sid), [OTHER]);
  assert.equal(ev.isReady(merged.data), true, 'the second task still needs its MOS task');
  assert.equal(ev.mergeHalf(merged.data, ev.parseEvent(cloudEvents.task({ id: 'EVt3', taskSid: OTHER, type: ev.TYPES.TASK_COMPLETED }))).duplicate, true, 'the second task\'s own task.completed is a duplicate');
  assert.equal(ev.mergeHalf(merged.data, ev.parseEvent(cloudEvents.task({ id: 'EVt4', type: ev.TYPES.TASK_COMPLETED }))).duplicate, true);
  assert.equal(ev.isReady({ ...merged.data, written: { ...written.written, [OTHER]: 'WT' + 'd'.repeat(32) } }), false, 'all written');
});

test('the join item records the CloudEvent id of each half it holds, and has a TTL of at least 2 days', () => {
  assert.ok(ev.JOIN_TTL_SECONDS >= 2 * 24 * 3600);
  const task = ev.parseEvent(cloudEvents.task({ id: 'EVt9' }));
  const sum = ev.parseEvent(cloudEvents.summary({ id: 'EVs9' }));
  const both = ev.mergeHalf(ev.mergeHalf(null, sum).data, task).data;
  assert.deepEqual(both.ids, ['EVs9', 'EVt9']);
  const again = ev.mergeHalf(both, ev.parseEvent(cloudEvents.summary({ id: 'EVs10', type: ev.TYPES.SUMMARY_COMPLETE })));
  assert.deepEqual(again.data.ids, ['EVs9', 'EVt9'], 'a redundant half (complete after predicted-complete) is not recorded');
});
