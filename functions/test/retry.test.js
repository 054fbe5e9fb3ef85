'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { functionsMap } = require('./support/harness');

const r = require(functionsMap()['mos-twilio'].path);

const rest = (status, code) => Object.assign(new Error(`HTTP ${status}`), { status, code });

test('retry delays grow exponentially, are capped, and are jittered within [ceiling/2, ceiling]', () => {
  const lo = [1, 2, 3, 4, 5, 6, 10].map((a) => r.retryDelayMs(a, () => 0));
  const hi = [1, 2, 3, 4, 5, 6, 10].map((a) => r.retryDelayMs(a, () => 0.999999));
  assert.deepEqual(lo, [100, 200, 400, 750, 750, 750, 750]);
  assert.deepEqual(hi, [200, 400, 800, 1500, 1500, 1500, 1500]);
  const seen = new Set(Array.from({ length: 50 }, () => r.retryDelayMs(2)));
  assert.ok(seen.size > 5, 'real randomness gives different delays');
});

test('the worst case stays well inside the 10 s Function limit', () => {
  let sleeps = 0;
  for (let a = 1; a < r.MAX_ATTEMPTS; a += 1) sleeps += r.retryDelayMs(a, () => 0.999999);
  assert.ok(r.HANDLER_BUDGET_MS + r.REQUEST_TIMEOUT_MS <= 8000, 'deadline plus one in-flight request');
  assert.ok(sleeps + r.MAX_ATTEMPTS * r.REQUEST_TIMEOUT_MS > r.HANDLER_BUDGET_MS, 'the deadline, not the attempt count, is what bounds the worst case');
});

test('429, 5xx and network errors are retryable; other 4xx are not', () => {
  assert.equal(r.isRetryable(rest(429, 20429)), true);
  assert.equal(r.isRetryable(rest(500)), true);
  assert.equal(r.isRetryable(rest(503)), true);
  assert.equal(r.isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), true);
  assert.equal(r.isRetryable(new Error('timeout of 2000ms exceeded')), true);
  for (const s of [400, 401, 403, 404]) assert.equal(r.isRetryable(rest(s)), false, String(s));
  assert.equal(r.isRetryable(new TypeError('x is not a function')), false);
});

test('withRetry retries until success, and stops on a non-retryable error', async () => {
  let calls = 0;
  const out = await r.withRetry(async () => {
    calls += 1;
    if (calls < 3) throw rest(429, 20429);
    return 'ok';
  }, { random: () => 0 });
  assert.equal(out, 'ok');
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(r.withRetry(async () => { calls += 1; throw rest(404, 20404); }), (e) => e.status === 404 && e.attempts === 1);
  assert.equal(calls, 1);
});

test('withRetry gives up after MAX_ATTEMPTS, and earlier when the deadline would be crossed', async () => {
  let calls = 0;
  await assert.rejects(r.withRetry(async () => { calls += 1; throw rest(503); }, { random: () => 0 }), (e) => e.attempts === r.MAX_ATTEMPTS);
  assert.equal(calls, r.MAX_ATTEMPTS);

  calls = 0;
  const started = Date.now();
  await assert.rejects(r.withRetry(async () => { calls += 1; throw rest(503); }, { deadline: Date.now() + r.REQUEST_TIMEOUT_MS + 50 }));
  assert.equal(calls, 1, 'no retry when sleep + one request would not fit');
  assert.ok(Date.now() - started < 100);
});

test('no attempt, not even the first, starts when one request would not fit before the deadline: 503 timeout', async () => {
  let calls = 0;
  await assert.rejects(r.withRetry(async () => { calls += 1; return 'late'; }, { deadline: Date.now() + r.REQUEST_TIMEOUT_MS - 10 }), (e) => e.status === 503 && e.code === 'timeout');
  assert.equal(calls, 0);
});

test('one Twilio error mapping: codes, statuses, and never Twilio\'s own text', () => {
  const m = (err, opts) => r.mapTwilioError(err, 'doing X', opts);
  assert.equal(m(rest(403, 17000)).code, 'advanced_features_required');
  assert.equal(m(rest(404, 20404), { notFound: ['call_not_found', 'no call'] }).code, 'call_not_found');
  assert.equal(m(rest(404, 20404)).code, 'twilio_error', 'a 404 without a meaning for the caller is a Twilio failure');
  assert.equal(m(rest(401, 20003)).status, 500);
  assert.equal(m(Object.assign(rest(429, 20429), { attempts: 4 })).message, 'Twilio kept answering 429 while doing X after 4 attempts');
  const secret = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:443 internal-host'), { code: 'ECONNREFUSED' });
  const net = m(secret);
  assert.equal(net.status, 502);
  assert.doesNotMatch(net.message, /10\.1\.2\.3|internal-host|ECONNREFUSED/);
});
