'use strict';
/**
 * The service under the real twilio-run (a subprocess on a free loopback
 * port), called over real HTTP the way the browser plugin calls it: POST,
 * application/x-www-form-urlencoded, Token in the body.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { startFakeTwilio } = require('./support/fake-twilio');
const { startFunctions } = require('./support/run-functions');
const { checkRecordedResponses } = require('./support/schemas');
const { readFixture, VALID_TOKEN } = require('./support/harness');

const expected = readFixture('expected.json');
const ORIGIN = 'http://127.0.0.1:3000';
const TASK = 'WT' + 'abcdef0123456789'.repeat(2);

test('twilio-run: form-encoded POSTs to both Functions, JSON body, errors, CORS', { timeout: 60000 }, async (t) => {
  const sid = expected['call_360.json'].callSid;
  const fake = await startFakeTwilio({ metricsByCall: { [sid]: readFixture('call_360.json') } });
  const fns = await startFunctions({ twilioUrl: fake.url, env: { ALLOWED_ORIGIN: ORIGIN } });
  t.after(async () => {
    await fns.close();
    await fake.close();
  });
  const form = (name, fields) => fetch(`${fns.url}/${name}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN },
    body: new URLSearchParams(fields).toString(),
  });

  await t.test('get_mos_score 200 with the expected summary', async () => {
    const res = await form('get_mos_score', { Token: VALID_TOKEN, CallSid: sid });
    assert.equal(res.status, 200, fns.logs());
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
    assert.deepEqual(await res.json(), expected['call_360.json'].summary);
    assert.deepEqual(fake.requests.map((r) => `${r.host} ${r.route}`), ['iam.twilio.com validateToken', 'insights.twilio.com metrics']);
  });

  await t.test('create_mos_score_task 200 created, then created:false', async () => {
    const Attributes = JSON.stringify({ conversations: { conversation_id: TASK, channel: 'mos_score', virtual: 'Yes', conversation_attribute_5: '4.20', conversation_measure_5: 4.2 }, mos_score: expected['call_360.json'].summary });
    const first = await form('create_mos_score_task', { Token: VALID_TOKEN, OriginalTaskSid: TASK, Attributes });
    assert.equal(first.status, 200);
    const body = await first.json();
    assert.equal(body.created, true);
    assert.equal(fake.tasks.get(body.sid).assignment_status, 'canceled');
    const second = await form('create_mos_score_task', { Token: VALID_TOKEN, OriginalTaskSid: TASK, Attributes });
    assert.deepEqual(await second.json(), { sid: body.sid, created: false });
  });

  await t.test('JSON bodies are accepted too', async () => {
    const res = await fetch(`${fns.url}/get_mos_score`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Token: VALID_TOKEN, CallSid: sid }) });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).samples, expected['call_360.json'].summary.samples);
  });

  await t.test('errors are JSON with our CORS: missing token 403, bad CallSid 400', async () => {
    const noToken = await form('get_mos_score', { CallSid: sid });
    assert.equal(noToken.status, 403);
    assert.equal(noToken.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(noToken.headers.get('content-type'), /^application\/json/);
    assert.equal((await noToken.json()).error.code, 'invalid_token');
    const bad = await form('get_mos_score', { Token: VALID_TOKEN, CallSid: 'CA-nope' });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('access-control-allow-origin'), ORIGIN);
    assert.equal((await bad.json()).error.code, 'invalid_parameter');
  });

  await t.test('twilio-run answers the CORS preflight (only JSON bodies need one)', async () => {
    const res = await fetch(`${fns.url}/get_mos_score`, { method: 'OPTIONS', headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
    assert.equal(res.status, 204);
    assert.ok(res.headers.get('access-control-allow-origin'));
  });

  await t.test('everything the fake answered is on spec', () => {
    assert.deepEqual(checkRecordedResponses(fake.requests), []);
  });
});
