'use strict';
/**
 * create_mos_score_task in-process, real `twilio` client + real validator,
 * fake TaskRouter on loopback; every fake response checked against the specs.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { invoke, readFixture, VALID_TOKEN, scenario } = require('./support/harness');
const { faults } = require('./support/fake-twilio');

const TASK = 'WT' + '0123456789abcdef'.repeat(2);
const OTHER = 'WT' + 'fedcba9876543210'.repeat(2);
const summary = readFixture('expected.json')['call_360.json'].summary;

/** Attributes the way the plugin builds them (docs/contract.md). */
function pluginAttributes(taskSid = TASK, conv = {}, extra = {}) {
  return JSON.stringify({
    conversations: { conversation_id: taskSid, channel: 'mos_score', virtual: 'Yes', conversation_attribute_5: summary.average.toFixed(2), conversation_measure_5: summary.average, ...conv },
    mos_score: summary,
    ...extra,
  });
}

function create(w, event = {}, env = {}) {
  return invoke('create_mos_score_task', {
    env: { ...w.env, ...env },
    event: { Token: VALID_TOKEN, OriginalTaskSid: TASK, Attributes: pluginAttributes(), ...event },
  });
}

function assertCors(res, origin = 'https://flex.twilio.com') {
  assert.equal(res.headers['Access-Control-Allow-Origin'], origin);
  assert.equal(res.headers['Content-Type'], 'application/json');
}

test('creates the MOS task with WORKFLOW_SID and TaskChannel mos_score, then cancels it with a reason', async () => {
  await scenario({}, async (w) => {
    const res = await create(w);
    assert.equal(res.status, 200);
    assertCors(res);
    assert.deepEqual(Object.keys(res.body).sort(), ['created', 'sid']);
    assert.equal(res.body.created, true);
    assert.match(res.body.sid, /^WT[0-9a-f]{32}$/);

    assert.deepEqual(w.fake.requests.map((r) => `${r.host} ${r.route} ${r.status}`), [
      'iam.twilio.com validateToken 200',
      'taskrouter.twilio.com listTasks 200',
      'taskrouter.twilio.com createTask 201',
      'taskrouter.twilio.com updateTask 200',
    ]);
    const [, list, made, cancel] = w.fake.requests;
    assert.equal(list.query.EvaluateTaskAttributes, `mos_score_for == "${TASK}"`);
    assert.equal(made.path, `/v1/Workspaces/${w.env.WORKSPACE_SID}/Tasks`);
    assert.equal(made.body.WorkflowSid, w.env.WORKFLOW_SID);
    assert.equal(made.body.TaskChannel, 'mos_score');
    assert.deepEqual(cancel.body, { AssignmentStatus: 'canceled', Reason: 'MOS score recorded' });

    const task = w.fake.tasks.get(res.body.sid);
    assert.equal(task.assignment_status, 'canceled');
    assert.equal(task.reason, 'MOS score recorded');
    const attrs = JSON.parse(task.attributes);
    assert.deepEqual(attrs, { ...JSON.parse(pluginAttributes()), mos_score_for: TASK }, 'plugin attributes kept as sent, plus the marker');
  });
});

test('TASK_CHANNEL overrides the channel', async () => {
  await scenario({}, async (w) => {
    const res = await create(w, {}, { TASK_CHANNEL: 'voice' });
    assert.equal(res.status, 200);
    assert.equal(w.fake.tasks.get(res.body.sid).task_channel_unique_name, 'voice');
  });
});

test('a duplicate create returns the existing task with created:false and makes nothing new', async () => {
  await scenario({}, async (w) => {
    const first = await create(w);
    const second = await create(w);
    assert.deepEqual(second.body, { sid: first.body.sid, created: false });
    assert.equal(w.fake.tasks.size, 1);
    assert.equal(w.count('createTask'), 1);
    assert.equal(w.count('updateTask'), 1, 'an already cancelled task is not touched again');
    // A MOS task for another original task is a different task.
    const other = await create(w, { OriginalTaskSid: OTHER, Attributes: pluginAttributes(OTHER) });
    assert.equal(other.body.created, true);
    assert.notEqual(other.body.sid, first.body.sid);
    // The original task itself (same conversation_id, but no marker) is never mistaken for the MOS task.
    assert.equal(w.fake.tasks.size, 2);
  });
});

test('after TaskRouter deleted the cancelled task (5 min), a repeat creates again: the documented window', async () => {
  await scenario({}, async (w) => {
    const first = await create(w);
    w.fake.deleteTask(first.body.sid);
    const again = await create(w);
    assert.equal(again.body.created, true);
    assert.notEqual(again.body.sid, first.body.sid);
  });
});

test('a found task left pending by an earlier failed cancel is cancelled now', async () => {
  await scenario({ failures: [faults.serverError('updateTask', Infinity)] }, async (w) => {
    const failed = await create(w);
    assert.equal(failed.status, 502);
    assert.equal(failed.body.error.code, 'twilio_error');
    assert.equal(failed.body.error.twilioCode, 20500);
    assertCors(failed);
    assert.equal(w.count('updateTask'), 4, 'cancel retried with the cap');
    const [task] = [...w.fake.tasks.values()];
    assert.equal(task.assignment_status, 'pending', 'the plugin will retry; meanwhile the task exists');
  });
  await scenario({ failures: [faults.serverError('updateTask', 1)] }, async (w) => {
    // first cancel fails once and is retried inside the same call
    const res = await create(w);
    assert.equal(res.status, 200);
    assert.equal(w.fake.tasks.get(res.body.sid).assignment_status, 'canceled');
  });
  await scenario({}, async (w) => {
    // an earlier run that created but never cancelled
    const ws = w.fake;
    const made = await create(w);
    ws.tasks.get(made.body.sid).assignment_status = 'pending';
    const res = await create(w);
    assert.deepEqual(res.body, { sid: made.body.sid, created: false });
    assert.equal(ws.tasks.get(made.body.sid).assignment_status, 'canceled');
  });
});

test('429 on create then success: one task, created:true', async () => {
  await scenario({ failures: [faults.rateLimited('createTask', 1)] }, async (w) => {
    const res = await create(w);
    assert.equal(res.status, 200);
    assert.equal(res.body.created, true);
    assert.equal(w.fake.tasks.size, 1);
    assert.deepEqual(w.fake.requests.filter((r) => r.route !== 'validateToken').map((r) => `${r.route} ${r.status}`), [
      'listTasks 200', 'createTask 429', 'listTasks 200', 'createTask 201', 'updateTask 200',
    ]);
  });
});

test('a create that Twilio committed but answered 500 is found on retry, not duplicated', async () => {
  await scenario({ failures: [faults.serverError('createTask', 1, { commit: true })] }, async (w) => {
    const res = await create(w);
    assert.equal(res.status, 200);
    assert.equal(w.fake.tasks.size, 1);
    assert.equal(res.body.sid, [...w.fake.tasks.keys()][0]);
    assert.equal(w.fake.tasks.get(res.body.sid).assignment_status, 'canceled');
  });
});

test('TaskRouter 429 that never ends is 429 rate_limited', async () => {
  await scenario({ failures: [faults.rateLimited('listTasks', Infinity)] }, async (w) => {
    const res = await create(w);
    assert.equal(res.status, 429);
    assert.equal(res.body.error.code, 'rate_limited');
    assert.equal(w.fake.tasks.size, 0);
  });
});

test('bad input is 400 naming the field, and TaskRouter is never called', async () => {
  const big = JSON.stringify({ conversations: { conversation_id: TASK }, pad: 'x'.repeat(16384) });
  const cases = [
    [{ OriginalTaskSid: undefined }, 'OriginalTaskSid'],
    [{ OriginalTaskSid: 'WT123' }, 'OriginalTaskSid'],
    [{ OriginalTaskSid: 'CA' + 'a'.repeat(32) }, 'OriginalTaskSid'],
    [{ Attributes: undefined }, 'Attributes'],
    [{ Attributes: '{"conversations":' }, 'Attributes'],
    [{ Attributes: '[]' }, 'Attributes'],
    [{ Attributes: pluginAttributes(OTHER) }, 'Attributes.conversations.conversation_id'],
    [{ Attributes: big }, 'Attributes'],
    [{ Attributes: pluginAttributes(TASK, { conversation_measure_5: 5.5 }) }, 'Attributes.conversations.conversation_measure_5'],
    [{ Attributes: pluginAttributes(TASK, { conversation_attribute_5: '0.4' }) }, 'Attributes.conversations.conversation_attribute_5'],
    [{ AttributeSlot: '2', Attributes: pluginAttributes(TASK, { conversation_attribute_2: 'gold-tier' }) }, 'Attributes.conversations.conversation_attribute_2'],
    [{ AttributeSlot: '11' }, 'AttributeSlot'],
    [{ Attributes: pluginAttributes(TASK, {}, { mos_score: { ...summary, minimum: 0 } }) }, 'Attributes.mos_score.minimum'],
  ];
  await scenario({}, async (w) => {
    for (const [event, field] of cases) {
      const res = await create(w, event);
      assert.equal(res.status, 400, `${field}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'invalid_parameter');
      assert.equal(res.body.error.field, field);
      assert.ok(res.body.error.message.includes(field), res.body.error.message);
      assertCors(res);
    }
    assert.deepEqual(w.fake.requests.map((r) => r.route).filter((r) => r !== 'validateToken'), []);
    assert.equal(w.fake.tasks.size, 0);
  });
});

test('missing and invalid tokens are 403 invalid_token with our CORS; nothing is created', async () => {
  await scenario({}, async (w) => {
    const missing = await create(w, { Token: undefined }, { ALLOWED_ORIGIN: 'https://flex.example.org' });
    assert.equal(missing.status, 403);
    assert.equal(missing.body.error.code, 'invalid_token');
    assertCors(missing, 'https://flex.example.org');
    const invalid = await create(w, { Token: 'nope' });
    assert.equal(invalid.status, 403);
    assert.equal(invalid.body.error.code, 'invalid_token');
    assertCors(invalid);
    assert.deepEqual(w.fake.requests.map((r) => r.route), ['validateToken']);
    assert.equal(w.fake.tasks.size, 0);
  });
});

test('missing or malformed WORKSPACE_SID / WORKFLOW_SID is 500 internal_error naming it', async () => {
  await scenario({}, async (w) => {
    for (const [env, name] of [[{ WORKSPACE_SID: '' }, 'WORKSPACE_SID'], [{ WORKFLOW_SID: undefined }, 'WORKFLOW_SID'], [{ WORKFLOW_SID: 'WQ' + 'a'.repeat(32) }, 'WORKFLOW_SID']]) {
      const res = await create(w, {}, env);
      assert.equal(res.status, 500);
      assert.equal(res.body.error.code, 'internal_error');
      assert.match(res.body.error.message, new RegExp(name));
      assertCors(res);
    }
    assert.equal(w.fake.requests.length, 0);
  });
});
