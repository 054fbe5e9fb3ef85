'use strict';
// Server mode under the real twilio-run (with @twilio/runtime-handler, as deployed):
// Event Streams' signed deliveries over HTTP to /mos_events, the whole path to one MOS task.
const test = require('node:test');
const assert = require('node:assert/strict');
const twilio = require('twilio');
const { startFakeTwilio } = require('./support/fake-twilio');
const { startFunctions, freePort } = require('./support/run-functions');
const { checkRecordedResponses } = require('./support/schemas');
const { readFixture } = require('./support/harness');
const { cloudEvents, signedDelivery, post } = require('./support/event-streams');
const { install } = require('./support/redirect-twilio');

const expected = readFixture('expected.json');
const CALL = expected['call_60.json'].callSid;


test('twilio-run: signed task.wrapup + call-summary deliveries (each twice) make exactly one MOS task; a forged one gets 403', { timeout: 60000 }, async (t) => {
  const fake = await startFakeTwilio({ metricsByCall: { [CALL]: readFixture('call_60.json') } });
  const port = await freePort();
  const sink = `http://127.0.0.1:${port}/mos_events`;
  const fns = await startFunctions({ twilioUrl: fake.url, port, env: { MOS_EVENTS_URL: sink } });
  const undo = install(fake.url); // this process creates the original task (as Flex would)
  t.after(async () => {
    undo();
    await fns.close();
    await fake.close();
  });
  const attrs = JSON.parse(cloudEvents.task().data.payload.task_attributes);
  attrs.conference.participants.worker = CALL;
  const tasks = twilio(fake.config.accountSid, fake.config.authToken).taskrouter.v1.workspaces(fake.config.workspaceSid).tasks;
  const original = await tasks.create({ workflowSid: fake.config.workflowSid, taskChannel: 'voice', attributes: JSON.stringify(attrs) });

  const send = (ce, authToken = fake.config.authToken) => post(`${fns.url}/mos_events`, signedDelivery([ce], { sinkUrl: sink, authToken }));
  const task = cloudEvents.task({ id: 'EVrun00001', taskSid: original.sid, workerLeg: CALL });
  const summary = cloudEvents.summary({ id: 'EVrun00002', callSid: CALL });
  const answers = [];
  for (const ce of [task, task, summary, summary]) answers.push(await send(ce));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200], fns.logs());
  assert.deepEqual(answers.map((a) => [a.body.joined, a.body.written, a.body.duplicates]), [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]]);

  const mos = [...fake.tasks.values()].filter((x) => x.task_channel_unique_name === 'mos_score');
  assert.equal(mos.length, 1);
  assert.equal(mos[0].assignment_status, 'canceled');
  const a = JSON.parse(mos[0].attributes);
  assert.equal(a.conversations.conversation_id, original.sid);
  assert.equal(a.conversations.conversation_attribute_5, expected['call_60.json'].summary.average.toFixed(2));
  assert.equal(JSON.parse(fake.tasks.get(original.sid).attributes).conversations.conversation_id, original.sid);

  const before = fake.requests.length;
  const forged = await send(summary, 'not-the-auth-token');
  assert.equal(forged.status, 403);
  assert.equal(fake.requests.length, before, 'no Twilio call for a forged delivery');
  assert.match(fns.logs(), /\[mos-score\] mos_events: 403: signature or body hash does not match/);
  assert.deepEqual(checkRecordedResponses(fake.requests), []);
});
