'use strict';
/**
 * create_mos_score_task in-process, real `twilio` client + real validator,
 * fake TaskRouter + Sync on loopback; every fake response checked against the specs.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { invoke, readFixture, VALID_TOKEN, TASK, scenario } = require('./support/harness');
const { faults, DEFAULTS } = require('./support/fake-twilio');

const expected = readFixture('expected.json')['call_360.json'];
const CALL = expected.callSid;
const metricsByCall = { [CALL]: readFixture('call_360.json') };

/** get_mos_score's answer for TASK/CALL: the summary and its proof. */
async function fetchSummary(w, event = {}) {
  const res = await invoke('get_mos_score', { env: w.env, event: { Token: VALID_TOKEN, TaskSid: TASK, CallSid: CALL, ...event } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** The create request the plugin sends, from a get_mos_score answer. */
function createEvent(s, extra = {}) {
  return {
    Token: VALID_TOKEN, TaskSid: TASK, CallSid: CALL, AttributeSlot: '5',
    Average: String(s.average), Minimum: String(s.minimum), PoorShare: String(s.poorShare), Samples: String(s.samples),
    Source: s.source, Proof: s.proof, ...extra,
  };
}

function create(w, event, env = {}) {
  return invoke('create_mos_score_task', { env: { ...w.env, ...env }, event });
}

function assertCors(res, origin = 'https://flex.twilio.com') {
  assert.equal(res.headers['Access-Control-Allow-Origin'], origin);
  assert.equal(res.headers['Content-Type'], 'application/json');
}

test('creates the MOS task the server built, through the ledger, and cancels it', async () => {
  await scenario({ metricsByCall }, async (w) => {
    const s = await fetchSummary(w);
    w.fake.resetRequests();
    const res = await create(w, createEvent(s));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertCors(res);
    assert.deepEqual(Object.keys(res.body).sort(), ['created', 'sid']);
    assert.equal(res.body.created, true);
    assert.deepEqual(w.fake.requests.map((r) => `${r.host} ${r.route} ${r.status}`), [
      'iam.twilio.com validateToken 200',
      'sync.twilio.com createSyncMapItem 404',
      'sync.twilio.com createSyncMap 201',
      'sync.twilio.com createSyncMapItem 201',
      'taskrouter.twilio.com fetchTask 404',
      'taskrouter.twilio.com createTask 201',
      'sync.twilio.com updateSyncMapItem 200',
      'taskrouter.twilio.com updateTask 200',
      'sync.twilio.com updateSyncMapItem 200',
    ], 'a valid proof stands for the authorisation (no reservation look-up); the winner reads the original\'s conversation (deleted here: the task SID)');
    const made = w.fake.requests.find((r) => r.route === 'createTask');
    assert.equal(made.body.WorkflowSid, w.env.WORKFLOW_SID);
    assert.equal(made.body.TaskChannel, 'mos_score');
    const claim = w.fake.requests.find((r) => r.route === 'createSyncMapItem' && r.status === 201);
    assert.equal(claim.path, `/v1/Services/${w.env.SYNC_SERVICE_SID}/Maps/mos_score_ledger/Items`);
    assert.equal(claim.body.Key, TASK);
    assert.ok(Number(claim.body.ItemTtl) >= 7 * 24 * 3600);
    const task = w.fake.tasks.get(res.body.sid);
    assert.equal(task.assignment_status, 'canceled');
    assert.equal(task.reason, 'MOS score recorded');
    assert.deepEqual(JSON.parse(task.attributes), {
      conversations: { conversation_id: TASK, virtual: 'Yes', conversation_attribute_5: s.average.toFixed(2), conversation_measure_5: s.average },
      mos_score_for: TASK,
      mos_score: { average: s.average, minimum: s.minimum, poorShare: s.poorShare, samples: s.samples, source: 'voice-insights' },
    });
  });
});

test('the MOS task joins the original task\'s existing conversation_id (e.g. a transfer segment)', async () => {
  await scenario({ metricsByCall }, async (w) => {
    // The original task, as TaskRouter holds it, already in conversation WT…c0ffee.
    const conversation = 'WT' + '0'.repeat(26) + 'c0ffee';
    const auth = 'Basic ' + Buffer.from(`${w.fake.config.accountSid}:${w.fake.config.authToken}`).toString('base64');
    const made = await fetch(`${w.fake.url}/v1/Workspaces/${w.env.WORKSPACE_SID}/Tasks`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ WorkflowSid: w.env.WORKFLOW_SID, TaskChannel: 'voice', Attributes: JSON.stringify({ conversations: { conversation_id: conversation } }) }),
    }).then((r) => r.json());
    w.fake.addHandled({ workerSid: DEFAULTS.workerSid, taskSid: made.sid });
    const s = await fetchSummary(w, { TaskSid: made.sid });
    const res = await create(w, createEvent(s, { TaskSid: made.sid }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const attrs = JSON.parse(w.fake.tasks.get(res.body.sid).attributes);
    assert.equal(attrs.conversations.conversation_id, conversation);
    assert.equal(attrs.mos_score_for, made.sid);
  });
});

test('TASK_CHANNEL overrides the channel; AttributeSlot picks the pair', async () => {
  await scenario({ metricsByCall }, async (w) => {
    const s = await fetchSummary(w);
    const res = await create(w, createEvent(s, { AttributeSlot: '9' }), { TASK_CHANNEL: 'voice' });
    assert.equal(res.status, 200);
    const task = w.fake.tasks.get(res.body.sid);
    assert.equal(task.task_channel_unique_name, 'voice');
    assert.equal(JSON.parse(task.attributes).conversations.conversation_measure_9, s.average);
  });
});

test('a repeat, and the same task SID in upper case, answer created:false with the first task', async () => {
  await scenario({ metricsByCall }, async (w) => {
    const s = await fetchSummary(w);
    const first = await create(w, createEvent(s));
    const again = await create(w, createEvent(s));
    assert.deepEqual(again.body, { sid: first.body.sid, created: false });
    const upper = 'WT' + TASK.slice(2).toUpperCase();
    const s2 = await fetchSummary(w, { TaskSid: upper, CallSid: 'CA' + CALL.slice(2).toUpperCase() });
    const loud = await create(w, createEvent(s2, { TaskSid: upper, CallSid: 'CA' + CALL.slice(2).toUpperCase() }));
    assert.equal(loud.status, 200, JSON.stringify(loud.body));
    assert.deepEqual(loud.body, { sid: first.body.sid, created: false });
    assert.equal(w.fake.tasks.size, 1);
  });
});

test('two overlapping creates for one task make one task', async () => {
  await scenario({ metricsByCall, latencyMs: 50 }, async (w) => {
    const s = await fetchSummary(w);
    const [a, b] = await Promise.all([create(w, createEvent(s)), create(w, createEvent(s))]);
    assert.equal(w.fake.tasks.size, 1);
    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.deepEqual([a.body.created, b.body.created].sort(), [false, true]);
    assert.equal(a.body.sid, b.body.sid);
  });
});

test('Source sdk needs no proof but the authorisation is checked here', async () => {
  await scenario({}, async (w) => {
    const res = await create(w, { Token: VALID_TOKEN, TaskSid: TASK, CallSid: CALL, Average: '3.9', Minimum: '3.1', PoorShare: '0.2', Samples: '42', Source: 'sdk' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(w.count('listTaskReservations'), 1);
    const attrs = JSON.parse(w.fake.tasks.get(res.body.sid).attributes);
    assert.equal(attrs.mos_score.source, 'sdk');
    assert.equal(attrs.conversations.conversation_attribute_5, '3.90');
  });
});

test('a proof that does not match is 400 invalid_proof and nothing is written', async () => {
  await scenario({ metricsByCall }, async (w) => {
    const s = await fetchSummary(w);
    const cases = [
      createEvent(s, { Average: (s.average - 0.01).toFixed(2) }),
      createEvent(s, { Samples: String(s.samples + 1) }),
      createEvent(s, { CallSid: 'CA' + 'f'.repeat(32) }),
      createEvent(s, { Proof: s.proof.slice(0, -2) + (s.proof.endsWith('AA') ? 'BB' : 'AA') }),
      createEvent(s, { Proof: 'v1.zzzzzz.' + 'A'.repeat(43) }),
      createEvent(s, { Proof: undefined }),
      createEvent(s, { Proof: 'not a proof' }),
    ];
    for (const ev of cases) {
      const res = await create(w, ev);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'invalid_proof');
      assertCors(res);
    }
    assert.equal(w.fake.tasks.size, 0);
    assert.equal(w.count('createSyncMapItem'), 0);
  });
});

test('429 on create then success: one task, created:true', async () => {
  await scenario({ metricsByCall, failures: [faults.rateLimited('createTask', 1)] }, async (w) => {
    const s = await fetchSummary(w);
    const res = await create(w, createEvent(s));
    assert.equal(res.status, 200);
    assert.equal(res.body.created, true);
    assert.equal(w.fake.tasks.size, 1);
  });
});

test('TaskRouter 429 that never ends is 429 rate_limited, and the claim is freed for the retry', async () => {
  await scenario({ metricsByCall, failures: [faults.rateLimited('createTask', 4)] }, async (w) => {
    const s = await fetchSummary(w);
    const res = await create(w, createEvent(s));
    assert.equal(res.status, 429);
    assert.equal(res.body.error.code, 'rate_limited');
    assert.equal(w.fake.tasks.size, 0);
    const retry = await create(w, createEvent(s));
    assert.equal(retry.status, 200);
    assert.equal(retry.body.created, true);
  });
});

test('a 500 on cancel (retried, then failing) is 502 with the task recorded; the next call cancels it', async () => {
  await scenario({ metricsByCall, failures: [faults.serverError('updateTask', 4)] }, async (w) => {
    const s = await fetchSummary(w);
    const failed = await create(w, createEvent(s));
    assert.equal(failed.status, 502);
    assert.equal(failed.body.error.code, 'twilio_error');
    assert.equal(failed.body.error.twilioCode, 20500);
    assert.doesNotMatch(failed.body.error.message, /Internal Server Error/, 'Twilio\'s own text is not passed on');
    const [task] = [...w.fake.tasks.values()];
    assert.equal(task.assignment_status, 'pending');
    const again = await create(w, createEvent(s));
    assert.deepEqual(again.body, { sid: task.sid, created: false });
    assert.equal(task.assignment_status, 'canceled');
  });
});

test('missing or malformed WORKSPACE_SID / WORKFLOW_SID / SYNC_SERVICE_SID is 500 internal_error naming it', async () => {
  await scenario({ metricsByCall }, async (w) => {
    const s = await fetchSummary(w);
    w.fake.resetRequests();
    for (const [env, name] of [[{ WORKSPACE_SID: '' }, 'WORKSPACE_SID'], [{ WORKFLOW_SID: undefined }, 'WORKFLOW_SID'], [{ WORKFLOW_SID: 'WQ' + 'a'.repeat(32) }, 'WORKFLOW_SID']]) {
      const res = await create(w, createEvent(s), env);
      assert.equal(res.status, 500);
      assert.equal(res.body.error.code, 'internal_error');
      assert.match(res.body.error.message, new RegExp(name));
      assertCors(res);
    }
    assert.equal(w.fake.requests.length, 0);
    const badSync = await create(w, createEvent(s), { SYNC_SERVICE_SID: 'ISnope' });
    assert.equal(badSync.status, 500);
    assert.match(badSync.body.error.message, /SYNC_SERVICE_SID/);
  });
});

test('200 concurrent creates for one task, 150 ms Twilio latency: exactly one MOS task', async () => {
  await scenario({ metricsByCall, latencyMs: 150 }, async (w) => {
    const s = await fetchSummary(w);
    const answers = await Promise.all(Array.from({ length: 200 }, () => create(w, createEvent(s))));
    assert.equal(w.fake.tasks.size, 1);
    const [task] = w.fake.tasks.values();
    assert.equal(task.assignment_status, 'canceled');
    for (const a of answers) {
      assert.ok(a.status === 200 || (a.status === 503 && a.body.error.code === 'in_progress'), `${a.status} ${JSON.stringify(a.body)}`);
      if (a.status === 200) assert.equal(a.body.sid, task.sid);
    }
    assert.equal(answers.filter((a) => a.status === 200 && a.body.created).length, 1);
  });
});
