'use strict';
// mos_events signature check with the real `twilio` helper (validateRequestWithBody):
// anything unsigned or wrongly signed is 403 before any Twilio call.
const test = require('node:test');
const assert = require('node:assert/strict');
const { invoke, scenario } = require('./support/harness');
const { cloudEvents, signedDelivery, runtimeEvent } = require('./support/event-streams');

const SINK = 'https://mos-score-functions-1234-dev.twil.io/mos_events';
const SYNC_SERVICE_SID = 'IS' + 'd4'.repeat(16);

// A batch the sink accepts without touching Twilio: a chat task (skipped, logged).
const chatBatch = () => [cloudEvents.task({ id: 'EVchat1', channel: 'chat' })];

async function deliver(w, delivery) {
  const env = { ...w.env, SYNC_SERVICE_SID, MOS_EVENTS_URL: SINK };
  return invoke('mos_events', { env, event: runtimeEvent(delivery), headers: delivery.headers });
}

test('a valid signature passes (200, the chat task skipped) and calls no Twilio API', () =>
  scenario({}, async (w) => {
    const res = await deliver(w, signedDelivery(chatBatch(), { sinkUrl: SINK, authToken: w.env.AUTH_TOKEN }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { events: 1, written: 0, exists: 0, joined: 0, duplicates: 0, skipped: 1, noMos: 0 });
    assert.equal(w.fake.requests.length, 0);
  }));

test('the body changed by one byte after signing: 403, no Twilio call', () =>
  scenario({}, async (w) => {
    const tamper = (body) => body.replace('"EVchat1"', '"EVchat2"');
    const res = await deliver(w, signedDelivery(chatBatch(), { sinkUrl: SINK, authToken: w.env.AUTH_TOKEN, tamper }));
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'invalid_signature');
    assert.match(res.body.error.message, /does not match/);
    assert.equal(w.fake.requests.length, 0);
  }));

test('a missing X-Twilio-Signature header: 403, no Twilio call', () =>
  scenario({}, async (w) => {
    const d = signedDelivery(chatBatch(), { sinkUrl: SINK, authToken: w.env.AUTH_TOKEN });
    delete d.headers['x-twilio-signature'];
    const res = await deliver(w, d);
    assert.equal(res.status, 403);
    assert.match(res.body.error.message, /missing X-Twilio-Signature/);
    assert.equal(w.fake.requests.length, 0);
  }));

test('signed with another auth token, for another URL, or without bodySHA256: 403', () =>
  scenario({}, async (w) => {
    const wrongToken = signedDelivery(chatBatch(), { sinkUrl: SINK, authToken: 'someone-elses-token' });
    const otherUrl = signedDelivery(chatBatch(), { sinkUrl: 'https://evil.example/mos_events', authToken: w.env.AUTH_TOKEN });
    const noHash = signedDelivery(chatBatch(), { sinkUrl: SINK, authToken: w.env.AUTH_TOKEN });
    noHash.url = SINK;
    for (const d of [wrongToken, otherUrl, noHash]) {
      const res = await deliver(w, d);
      assert.equal(res.status, 403, d.url);
    }
    assert.equal(w.fake.requests.length, 0);
  }));

test('a JSON object that is not a CloudEvent cannot be verified: 403', () =>
  scenario({}, async (w) => {
    const res = await deliver(w, signedDelivery({ hello: 'world' }, { sinkUrl: SINK, authToken: w.env.AUTH_TOKEN }));
    assert.equal(res.status, 403);
    assert.equal(w.fake.requests.length, 0);
  }));
