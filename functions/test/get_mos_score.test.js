'use strict';
/**
 * get_mos_score in-process, with the real `twilio` 6.x client and the real
 * twilio-flex-token-validator against the fake Twilio on loopback. Every fake
 * response is checked against the OpenAPI schemas when each fake closes.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { invoke, readFixture, VALID_TOKEN, TASK, scenario } = require('./support/harness');
const { faults, makeToken } = require('./support/fake-twilio');
const { fixture } = require('../../fixtures/metrics/generate');

const expected = readFixture('expected.json');
const CORS_DEFAULT = 'https://flex.twilio.com';

function call(w, event, env = {}) {
  return invoke('get_mos_score', { env: { ...w.env, ...env }, event: { Token: VALID_TOKEN, TaskSid: TASK, ...event } });
}

/** The summary without the proof (checked in auth.test.js). */
function summaryOf(res) {
  assert.match(res.body.proof, /^v1\./);
  const { proof, ...rest } = res.body;
  return rest;
}

function assertCors(res, origin = CORS_DEFAULT) {
  assert.equal(res.headers['Access-Control-Allow-Origin'], origin);
  assert.match(res.headers['Access-Control-Allow-Methods'], /POST/);
  assert.equal(res.headers['Access-Control-Allow-Headers'], 'Content-Type');
  assert.equal(res.headers['Content-Type'], 'application/json');
}

function assertError(res, status, code, pattern) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
  if (pattern) assert.match(res.body.error.message, pattern);
  assertCors(res);
}

for (const name of ['call_60.json', 'call_360.json', 'call_1440.json']) {
  test(`${name}: one request per 1000 sdk samples, Edge=sdk_edge & PageSize=1000, summary as expected.json`, async () => {
    const f = fixture(name);
    await scenario({ metricsByCall: { [f.callSid]: f.items } }, async (w) => {
      const res = await call(w, { CallSid: f.callSid });
      assert.equal(res.status, 200);
      assert.deepEqual(summaryOf(res), expected[name].summary);
      assertCors(res);
      const metrics = w.fake.requests.filter((r) => r.route === 'metrics');
      assert.equal(metrics.length, Math.ceil(f.items.filter((i) => i.edge === 'sdk_edge').length / 1000));
      assert.deepEqual(metrics[0].query, { Edge: 'sdk_edge', PageSize: '1000' });
      assert.equal(metrics[0].host, 'insights.twilio.com');
      assert.equal(w.count('validateToken'), 1);
      assert.equal(w.count('listTaskReservations'), 1, 'the authorisation');
      assert.equal(w.fake.requests.length, metrics.length + 2, 'nothing else is called');
    });
  });
}

test('pagination across 3 pages: follows next_page_url until it is null', async () => {
  const f = fixture('call_1440.json');
  await scenario({ metricsByCall: { [f.callSid]: f.items }, maxPageSize: 500 }, async (w) => {
    const res = await call(w, { CallSid: f.callSid });
    assert.equal(res.status, 200);
    assert.deepEqual(summaryOf(res), expected['call_1440.json'].summary);
    const pages = w.fake.requests.filter((r) => r.route === 'metrics');
    assert.equal(pages.length, 3);
    assert.deepEqual(pages.map((p) => p.query.PageToken), [undefined, 'PT500', 'PT1000']);
    assert.deepEqual(pages.map((p) => p.response.metrics.length), [500, 500, 440]);
    assert.equal(pages[2].response.meta.next_page_url, null);
  });
});

test('samples from other edges and null/missing/non-numeric MOS are ignored, even if the server ignores Edge', async () => {
  const f = readFixture('mixed_edges_nulls.json');
  const sid = expected['mixed_edges_nulls.json'].callSid;
  for (const ignoreEdgeFilter of [false, true]) {
    await scenario({ metricsByCall: { [sid]: f }, ignoreEdgeFilter }, async (w) => {
      const res = await call(w, { CallSid: sid });
      assert.equal(res.status, 200);
      assert.deepEqual(summaryOf(res), expected['mixed_edges_nulls.json'].summary);
      const served = w.fake.requests.find((r) => r.route === 'metrics').response.metrics;
      assert.equal(served.some((m) => m.edge !== 'sdk_edge'), ignoreEdgeFilter);
    });
  }
});

test('rounding happens once, half up: (4.30 + 4.31) / 2 -> 4.31', async () => {
  const sid = expected['rounding_tie.json'].callSid;
  await scenario({ metricsByCall: { [sid]: readFixture('rounding_tie.json') } }, async (w) => {
    const res = await call(w, { CallSid: sid });
    assert.deepEqual(summaryOf(res), expected['rounding_tie.json'].summary);
    assert.equal(res.body.average, 4.31);
  });
});

test('a call with no samples, or only null MOS, is 404 not_ready (never NaN or null)', async () => {
  for (const name of ['no_samples.json', 'only_nulls.json']) {
    const sid = expected[name].callSid;
    await scenario({ metricsByCall: { [sid]: readFixture(name) } }, async (w) => {
      const res = await call(w, { CallSid: sid });
      assertError(res, 404, 'not_ready', new RegExp(sid));
      assert.equal(expected[name].status, 404);
    });
  }
});

test('an unknown call is 404 call_not_found', async () => {
  await scenario({}, async (w) => {
    const sid = 'CA' + 'e'.repeat(32);
    const res = await call(w, { CallSid: sid });
    assertError(res, 404, 'call_not_found', new RegExp(sid));
    assert.equal(res.body.error.twilioCode, 20404);
  });
});

for (const code of [17000, 17007]) {
  test(`Advanced Features off (${code}) is 403 advanced_features_required saying what to enable`, async () => {
    const f = fixture('call_60.json');
    await scenario({ metricsByCall: { [f.callSid]: f.items }, failures: [faults.advancedFeaturesOff(code)] }, async (w) => {
      const res = await call(w, { CallSid: f.callSid });
      assertError(res, 403, 'advanced_features_required', /Voice Insights Advanced Features/);
      assert.match(res.body.error.message, /Console/);
      assert.equal(res.body.error.twilioCode, code);
      assert.equal(w.count('metrics'), 1, 'not retried');
    });
  });
}

test('429 then success: retried once, 200', async () => {
  const f = fixture('call_60.json');
  await scenario({ metricsByCall: { [f.callSid]: f.items }, failures: [faults.rateLimited('metrics', 1)] }, async (w) => {
    const res = await call(w, { CallSid: f.callSid });
    assert.equal(res.status, 200);
    assert.deepEqual(summaryOf(res), expected['call_60.json'].summary);
    assert.deepEqual(w.fake.requests.filter((r) => r.route === 'metrics').map((r) => r.status), [429, 200]);
  });
});

test('503 on the second page then success: only that page is retried', async () => {
  const f = fixture('call_1440.json');
  await scenario({ metricsByCall: { [f.callSid]: f.items }, maxPageSize: 500 }, async (w) => {
    w.fake.addFailure({ ...faults.serverError('metrics', 1, { status: 503 }), match: { PageToken: 'PT500' } });
    const res = await call(w, { CallSid: f.callSid });
    assert.equal(res.status, 200);
    assert.deepEqual(summaryOf(res), expected['call_1440.json'].summary);
    assert.deepEqual(w.fake.requests.filter((r) => r.route === 'metrics').map((r) => `${r.status} ${r.query.PageToken || '-'}`), ['200 -', '503 PT500', '200 PT500', '200 PT1000']);
  });
});

test('429 that never ends: 429 rate_limited after the capped attempts, well inside the time limit', async () => {
  const f = fixture('call_60.json');
  await scenario({ metricsByCall: { [f.callSid]: f.items }, failures: [faults.rateLimited('metrics', Infinity)] }, async (w) => {
    const res = await call(w, { CallSid: f.callSid });
    assertError(res, 429, 'rate_limited', /after 4 attempts/);
    assert.equal(w.count('metrics'), 4);
    assert.ok(res.ms < 4000, `took ${res.ms} ms`);
  });
});

test('any other Twilio error is 502 twilio_error with twilioCode', async () => {
  const f = fixture('call_60.json');
  await scenario({ metricsByCall: { [f.callSid]: f.items }, failures: [faults.twilioError('metrics', 400, 20001, 'Invalid parameter')] }, async (w) => {
    const res = await call(w, { CallSid: f.callSid });
    assertError(res, 502, 'twilio_error', new RegExp(f.callSid));
    assert.equal(res.body.error.twilioCode, 20001);
  });
});

test('a malformed CallSid is 400 naming CallSid, and Voice Insights is never called', async () => {
  await scenario({}, async (w) => {
    for (const bad of [undefined, '', 'CA123', 'CA' + 'z'.repeat(32), 'WT' + 'a'.repeat(32)]) {
      const res = await call(w, { CallSid: bad });
      assertError(res, 400, 'invalid_parameter', /CallSid/);
    }
    assert.equal(w.count('metrics'), 0);
  });
});

test('a missing token is 403 invalid_token in our JSON with our CORS, and nothing is called', async () => {
  const f = fixture('call_60.json');
  await scenario({ metricsByCall: { [f.callSid]: f.items } }, async (w) => {
    for (const Token of [undefined, '']) {
      const res = await call(w, { CallSid: f.callSid, Token });
      assertError(res, 403, 'invalid_token', /Token was not provided/);
    }
    assert.equal(w.fake.requests.length, 0);
    const shapeless = await call(w, { CallSid: f.callSid, Token: 'expired-or-forged' });
    assertError(shapeless, 403, 'invalid_token', /not a Flex token/);
    assert.equal(w.fake.requests.length, 0, 'a token that is not a JWT never reaches IAM');
  });
});

test('an invalid token is 403 invalid_token; only the IAM validation is called', async () => {
  const f = fixture('call_60.json');
  await scenario({ metricsByCall: { [f.callSid]: f.items } }, async (w) => {
    const forged = makeToken('expired-or-forged');
    const res = await call(w, { CallSid: f.callSid, Token: forged });
    assertError(res, 403, 'invalid_token', /rejected by Twilio/);
    assert.deepEqual(w.fake.requests.map((r) => `${r.host} ${r.route}`), ['iam.twilio.com validateToken']);
    assert.equal(w.fake.requests[0].body.token, forged);
    assert.ok(!JSON.stringify(res.body).includes(forged), 'the token is not echoed');
  });
});

test('CORS: ALLOWED_ORIGIN is honoured on success and error; "*" only when asked for', async () => {
  const f = fixture('call_60.json');
  await scenario({ metricsByCall: { [f.callSid]: f.items } }, async (w) => {
    const ok = await call(w, { CallSid: f.callSid }, { ALLOWED_ORIGIN: 'https://example.com' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['Access-Control-Allow-Origin'], 'https://example.com');
    const err = await call(w, { CallSid: 'bad' }, { ALLOWED_ORIGIN: 'https://example.com' });
    assert.equal(err.status, 400);
    assert.equal(err.headers['Access-Control-Allow-Origin'], 'https://example.com');
    const tokenErr = await call(w, { CallSid: f.callSid, Token: makeToken('nope') }, { ALLOWED_ORIGIN: 'https://example.com' });
    assert.equal(tokenErr.headers['Access-Control-Allow-Origin'], 'https://example.com', 'not the validator\'s "*"');
    const star = await call(w, { CallSid: f.callSid }, { ALLOWED_ORIGIN: '*' });
    assert.equal(star.headers['Access-Control-Allow-Origin'], '*');
    const dflt = await call(w, { CallSid: f.callSid }, { ALLOWED_ORIGIN: '' });
    assert.equal(dflt.headers['Access-Control-Allow-Origin'], CORS_DEFAULT);
  });
});

test('misconfiguration is 500 internal_error naming the variable, before anything is called', async () => {
  const f = fixture('call_60.json');
  await scenario({ metricsByCall: { [f.callSid]: f.items } }, async (w) => {
    for (const [env, name] of [[{ AUTH_TOKEN: '' }, 'AUTH_TOKEN'], [{ ACCOUNT_SID: undefined }, 'ACCOUNT_SID'], [{ ACCOUNT_SID: 'ACnope' }, 'ACCOUNT_SID'], [{ ALLOWED_ORIGIN: 'flex.twilio.com, evil' }, 'ALLOWED_ORIGIN']]) {
      const res = await call(w, { CallSid: f.callSid }, env);
      assert.equal(res.status, 500);
      assert.equal(res.body.error.code, 'internal_error');
      assert.match(res.body.error.message, new RegExp(name));
    }
    assert.equal(w.fake.requests.length, 0);
    const wrongSecret = await call(w, { CallSid: f.callSid }, { AUTH_TOKEN: 'a-wrong-auth-token' });
    assert.equal(wrongSecret.status, 403, 'IAM refuses the account credentials first (see docs/functions.md, troubleshooting)');
  });
});
