'use strict';
/**
 * Authorisation, proof and time limits, in-process (real `twilio` client,
 * real twilio-flex-token-validator, fake Twilio on loopback).
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { invoke, readFixture, VALID_TOKEN, TASK, scenario, functionsMap } = require('./support/harness');
const { makeToken, DEFAULTS } = require('./support/fake-twilio');

const expected = readFixture('expected.json')['call_60.json'];
const CALL = expected.callSid;
const metricsByCall = { [CALL]: readFixture('call_60.json') };
const WORKER_A = DEFAULTS.workerSid;
const WORKER_B = 'WK' + 'b'.repeat(32);
const TOKEN_B = makeToken('worker-b');
const SUPERVISOR = makeToken('supervisor');
const OTHER_TASK = 'WT' + 'e'.repeat(32);

const get = (w, event = {}) => invoke('get_mos_score', { env: w.env, event: { Token: VALID_TOKEN, TaskSid: TASK, CallSid: CALL, ...event } });
const sdkCreate = (w, event = {}) => invoke('create_mos_score_task', {
  env: w.env,
  event: { Token: VALID_TOKEN, TaskSid: TASK, CallSid: CALL, Average: '4.1', Minimum: '3.2', PoorShare: '0.1', Samples: '12', Source: 'sdk', ...event },
});

const options = (handled, extra = {}) => ({
  metricsByCall,
  tokens: { [TOKEN_B]: { workerSid: WORKER_B }, [SUPERVISOR]: { workerSid: 'WK' + 'c'.repeat(32), roles: ['supervisor'] } },
  handled,
  ...extra,
});

test('a token of worker B gets 403 not_your_task for worker A\'s task, on both Functions; nothing is read or written', async () => {
  await scenario(options([{ workerSid: WORKER_A, taskSid: TASK }, { workerSid: WORKER_B, taskSid: OTHER_TASK }]), async (w) => {
    const a = await get(w);
    assert.equal(a.status, 200);
    for (const res of [await get(w, { Token: TOKEN_B }), await sdkCreate(w, { Token: TOKEN_B })]) {
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'not_your_task');
      assert.match(res.body.error.message, new RegExp(TASK));
      assert.equal(res.headers['Access-Control-Allow-Origin'], 'https://flex.twilio.com');
    }
    assert.equal(w.count('metrics'), 1, 'only worker A\'s call read Voice Insights');
    assert.equal(w.fake.tasks.size, 0);
    assert.equal(w.count('createSyncMapItem'), 0);
    // and B on B's own task is fine
    assert.equal((await get(w, { Token: TOKEN_B, TaskSid: OTHER_TASK })).status, 200);
  });
});

test('a reservation that was offered but rejected (or timed out) is not "handled"', async () => {
  await scenario(options([{ workerSid: WORKER_A, taskSid: TASK, status: 'rejected' }, { workerSid: WORKER_A, taskSid: OTHER_TASK, status: 'timeout', live: false }]), async (w) => {
    assert.equal((await get(w)).body.error.code, 'not_your_task');
    assert.equal((await get(w, { TaskSid: OTHER_TASK })).body.error.code, 'not_your_task');
  });
});

test('a job resuming 24 h later, after TaskRouter deleted the task: the Events list still shows the accepted reservation', async () => {
  await scenario(options([{ workerSid: WORKER_A, taskSid: TASK, live: false, minutesAgo: 24 * 60 + 20 }]), async (w) => {
    const res = await get(w);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(w.fake.requests.filter((r) => r.host === 'taskrouter.twilio.com').map((r) => `${r.route} ${r.status}`), ['listTaskReservations 404', 'listEvents 200']);
    const ev = w.fake.requests.find((r) => r.route === 'listEvents');
    assert.deepEqual(ev.query, { TaskSid: TASK, WorkerSid: WORKER_A, EventType: 'reservation.accepted', Minutes: String(require(functionsMap()['mos-auth'].path).EVIDENCE_WINDOW_MIN), PageSize: '20' });
    const created = await sdkCreate(w);
    assert.equal(created.status, 200);
  });
});

test('evidence older than the 7-day window (or the 30 days TaskRouter keeps) does not authorise', async () => {
  await scenario(options([{ workerSid: WORKER_A, taskSid: TASK, live: false, minutesAgo: 8 * 24 * 60 }]), async (w) => {
    assert.equal((await get(w)).body.error.code, 'not_your_task');
  });
});

test('the same task in the live reservations list: one TaskRouter request', async () => {
  await scenario(options([{ workerSid: WORKER_A, taskSid: TASK, status: 'wrapping' }]), async (w) => {
    assert.equal((await get(w)).status, 200);
    assert.deepEqual(w.fake.requests.filter((r) => r.host === 'taskrouter.twilio.com').map((r) => `${r.route} ${r.query.WorkerSid}`), [`listTaskReservations ${WORKER_A}`]);
  });
});

test('a supervisor or admin token may read and record any task, without a TaskRouter look-up', async () => {
  await scenario(options([]), async (w) => {
    const res = await get(w, { Token: SUPERVISOR });
    assert.equal(res.status, 200);
    const made = await sdkCreate(w, { Token: SUPERVISOR });
    assert.equal(made.status, 200);
    assert.equal(w.count('listTaskReservations') + w.count('listEvents'), 0);
  });
});

test('a proof is bound to its worker and expires after 48 h', async () => {
  await scenario(options([{ workerSid: WORKER_A, taskSid: TASK }, { workerSid: WORKER_B, taskSid: TASK }]), async (w) => {
    const { signProof, verifyProof, PROOF_TTL_S } = require(functionsMap()['mos-auth'].path);
    assert.equal(PROOF_TTL_S, 48 * 3600);
    const s = (await get(w)).body;
    const fields = (proof, token = VALID_TOKEN) => ({ Token: token, TaskSid: TASK, CallSid: CALL, Average: String(s.average), Minimum: String(s.minimum), PoorShare: String(s.poorShare), Samples: String(s.samples), Source: 'voice-insights', Proof: proof });
    const create = (ev) => invoke('create_mos_score_task', { env: w.env, event: ev });
    const byB = await create(fields(s.proof, TOKEN_B));
    assert.equal(byB.body.error.code, 'invalid_proof', 'B handled the task too, but A\'s proof is A\'s');
    const summary = { average: s.average, minimum: s.minimum, poorShare: s.poorShare, samples: s.samples };
    const old = signProof(w.env, { principal: WORKER_A, taskSid: TASK, callSid: CALL, summary }, Date.now() - PROOF_TTL_S * 1000 - 1000);
    assert.throws(() => verifyProof(w.env, old, { principal: WORKER_A, taskSid: TASK, callSid: CALL, summary }), (e) => e.code === 'invalid_proof');
    assert.equal((await create(fields(old))).body.error.code, 'invalid_proof');
    const otherSecret = await invoke('create_mos_score_task', { env: { ...w.env, MOS_PROOF_SECRET: 'x'.repeat(32) }, event: fields(s.proof) });
    assert.equal(otherSecret.body.error.code, 'invalid_proof', 'MOS_PROOF_SECRET replaces the derived key');
    assert.equal((await create(fields(s.proof))).status, 200);
    assert.equal(w.fake.tasks.size, 1);
  });
});

test('IAM taking 25 s: 503 auth_unavailable within 4 s, and nothing else is called', async () => {
  await scenario(options([{ workerSid: WORKER_A, taskSid: TASK }], { failures: [{ route: 'validateToken', delayMs: 25000 }] }), async (w) => {
    const res = await get(w);
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'auth_unavailable');
    assert.ok(res.ms < 4000, `${res.ms} ms`);
    assert.deepEqual(w.fake.requests.map((r) => r.route), [], 'the IAM answer had not even arrived');
  });
});

test('Twilio hanging on every request: our JSON answer within 8 s', async () => {
  await scenario(options([{ workerSid: WORKER_A, taskSid: TASK }], { failures: [{ route: 'metrics', delayMs: 9000, times: Infinity }] }), async (w) => {
    const res = await get(w);
    assert.ok(res.ms < 8000, `${res.ms} ms`);
    assert.ok(res.status === 502 || res.status === 503, String(res.status));
    assert.ok(['twilio_error', 'timeout'].includes(res.body.error.code));
    assert.equal(res.headers['Content-Type'], 'application/json');
  });
});

test('IAM answering 500 or 429 is 503 auth_unavailable (retry), not invalid_token', async () => {
  const { faults } = require('./support/fake-twilio');
  for (const failure of [faults.serverError('validateToken', 1), faults.rateLimited('validateToken', 1), faults.serverError('validateToken', 1, { status: 503 })]) {
    await scenario(options([{ workerSid: WORKER_A, taskSid: TASK }], { failures: [failure] }), async (w) => {
      const res = await get(w);
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'auth_unavailable');
    });
  }
});
