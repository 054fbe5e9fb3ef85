'use strict';
/**
 * The Sync ledger (mos-ledger.private.js) with the real `twilio` client
 * against the fake Sync + TaskRouter on loopback; every fake answer is checked
 * against Twilio's OpenAPI specs when the fake closes.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { functionsMap, scenario } = require('./support/harness');
const { faults } = require('./support/fake-twilio');

const ledger = require(functionsMap()['mos-ledger'].path);
const { createClient } = require(functionsMap()['mos-twilio'].path);

const TASK = 'WT' + '0123456789abcdef'.repeat(2);
const SUMMARY = { average: 4.31, minimum: 3.02, poorShare: 0.05, samples: 360, source: 'voice-insights' };
const quiet = { info() {}, warn() {}, error() {} };

function args(w, extra = {}) {
  return {
    serviceSid: 'default', workspaceSid: w.env.WORKSPACE_SID, workflowSid: w.env.WORKFLOW_SID, channel: 'mos_score',
    taskSid: TASK, slot: 5, summary: SUMMARY, deadline: Date.now() + 5500, log: quiet, ...extra,
  };
}

const item = (w, key = TASK) => w.fake.sync.maps.get(ledger.MAP_NAME).items.get(key);

test('first claim creates the map and an item keyed by the task SID with a TTL of at least 7 days', async () => {
  await scenario({}, async (w) => {
    const client = createClient(w.env);
    const first = await ledger.claim(client, args(w));
    assert.equal(first.won, true);
    assert.equal(first.item.key, TASK);
    const ttl = (Date.parse(first.item.dateExpires) - Date.parse(first.item.dateCreated)) / 1000;
    assert.ok(ttl >= 7 * 24 * 3600, `TTL ${ttl} s`);
    assert.deepEqual(w.fake.requests.map((r) => `${r.host} ${r.route} ${r.status}`), [
      'sync.twilio.com createSyncMapItem 404', 'sync.twilio.com createSyncMap 201', 'sync.twilio.com createSyncMapItem 201',
    ]);
    const second = await ledger.claim(client, args(w));
    assert.deepEqual({ ...second, claimedAt: undefined }, { won: false, winnerSid: null, state: 'claimed', claimedAt: undefined }, 'a fresh claim without a MOS task yet');
    await ledger.record(client, { ...args(w), item: first.item }, 'WT' + 'f'.repeat(32));
    const third = await ledger.claim(client, args(w));
    assert.deepEqual({ ...third, claimedAt: undefined }, { won: false, winnerSid: 'WT' + 'f'.repeat(32), state: 'created', claimedAt: undefined });
  });
});

test('SYNC_SERVICE_SID: default "default", an IS… SID, anything else is a configuration error', () => {
  assert.equal(ledger.syncServiceSid({}), 'default');
  assert.equal(ledger.syncServiceSid({ SYNC_SERVICE_SID: ' IS' + 'a'.repeat(32) }), 'IS' + 'a'.repeat(32));
  assert.throws(() => ledger.syncServiceSid({ SYNC_SERVICE_SID: 'ISnope' }), (e) => e.status === 500 && /SYNC_SERVICE_SID/.test(e.message));
});

test('twenty overlapping writes for one task: one task, created once, cancelled; the map-creation race is tolerated', async () => {
  await scenario({ latencyMs: 20 }, async (w) => {
    const client = createClient(w.env);
    const results = await Promise.all(Array.from({ length: 20 }, () => ledger.writeMosTask(client, args(w))));
    assert.equal(w.fake.tasks.size, 1);
    const [task] = w.fake.tasks.values();
    assert.equal(task.assignment_status, 'canceled');
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.ok(results.every((r) => r.sid === task.sid));
    const maps = w.fake.requests.filter((r) => r.route === 'createSyncMap');
    assert.equal(maps.filter((r) => r.status === 201).length, 1);
    assert.ok(maps.filter((r) => r.status === 409).length >= 1, 'the map-creation race happened and was tolerated');
    assert.equal(item(w).data.state, 'done');
    assert.equal(item(w).data.mosTaskSid, task.sid);
  });
});

test('a stale claim (writer died before recording) is taken over with If-Match; of two takers exactly one wins', async () => {
  await scenario({}, async (w) => {
    const client = createClient(w.env);
    const old = Date.now() - ledger.STALE_AFTER_MS - 1000;
    const dead = await ledger.claim(client, { ...args(w), now: () => old });
    assert.equal(dead.won, true);
    const [a, b] = await Promise.all([ledger.claim(client, args(w)), ledger.claim(client, args(w))]);
    assert.equal([a, b].filter((x) => x.won).length, 1, JSON.stringify([a, b]));
    assert.equal([a, b].find((x) => x.won).takenOver, true);
    assert.ok(w.fake.requests.some((r) => r.route === 'updateSyncMapItem' && r.status === 412), 'the loser hit If-Match');
    // a fresh claim (not stale) is never taken over
    const fresh = await ledger.claim(client, args(w));
    assert.equal(fresh.won, false);
  });
});

test('a taken-over claim finds the task the dead writer created instead of making a second one', async () => {
  await scenario({}, async (w) => {
    const client = createClient(w.env);
    const old = Date.now() - ledger.STALE_AFTER_MS - 1000;
    await ledger.claim(client, { ...args(w), now: () => old });
    // the dead writer's task, made before it died (never recorded, never cancelled)
    const { json } = ledger.buildMosTaskAttributes({ taskSid: TASK, slot: 5, summary: SUMMARY });
    const orphan = await client.taskrouter.v1.workspaces(w.env.WORKSPACE_SID).tasks.create({ workflowSid: w.env.WORKFLOW_SID, taskChannel: 'mos_score', attributes: json });
    const res = await ledger.writeMosTask(client, args(w));
    assert.deepEqual(res, { sid: orphan.sid, created: false });
    assert.equal(w.fake.tasks.size, 1);
    assert.equal(w.fake.tasks.get(orphan.sid).assignment_status, 'canceled');
  });
});

test('record() after a takeover gets 412 and says so (null), without throwing', async () => {
  await scenario({}, async (w) => {
    const client = createClient(w.env);
    const first = await ledger.claim(client, args(w));
    await client.sync.v1.services('default').syncMaps(ledger.MAP_NAME).syncMapItems(TASK).update({ data: { state: 'claimed', owner: 'someone-else', claimedAt: Date.now() } });
    assert.equal(await ledger.record(client, { ...args(w), item: first.item }, 'WT' + 'e'.repeat(32)), null);
  });
});

test('a create that TaskRouter committed but answered 500 is found by the marker, not made twice', async () => {
  await scenario({ failures: [faults.serverError('createTask', 1, { commit: true })] }, async (w) => {
    const client = createClient(w.env);
    const res = await ledger.writeMosTask(client, args(w));
    assert.equal(w.fake.tasks.size, 1);
    assert.deepEqual(res, { sid: [...w.fake.tasks.keys()][0], created: true });
    assert.equal(w.count('createTask'), 1, 'a 5xx create is never retried blindly');
  });
});

test('a certain create failure (400) frees the claim, so the next request writes at once', async () => {
  await scenario({ failures: [faults.twilioError('createTask', 400, 20001, 'Invalid')] }, async (w) => {
    const client = createClient(w.env);
    await assert.rejects(ledger.writeMosTask(client, args(w)), (e) => e.status === 502 && e.code === 'twilio_error' && !/Invalid/.test(e.message));
    assert.equal(item(w), undefined, 'claim released');
    const res = await ledger.writeMosTask(client, args(w));
    assert.equal(res.created, true);
  });
});

test('a loser whose winner recorded but died before cancelling cancels it at once; an already cancelled task is success', async () => {
  await scenario({}, async (w) => {
    const client = createClient(w.env);
    const first = await ledger.claim(client, { ...args(w), now: () => Date.now() - 11000 });
    const t = await client.taskrouter.v1.workspaces(w.env.WORKSPACE_SID).tasks.create({ workflowSid: w.env.WORKFLOW_SID, taskChannel: 'mos_score', attributes: '{}' });
    await ledger.record(client, { ...args(w), item: first.item }, t.sid, 'created');
    const started = Date.now();
    assert.deepEqual(await ledger.writeMosTask(client, args(w)), { sid: t.sid, created: false });
    assert.ok(Date.now() - started < 1000, 'no waiting for a writer older than any live Function');
    assert.equal(w.fake.tasks.get(t.sid).assignment_status, 'canceled');
    assert.deepEqual(await ledger.writeMosTask(client, args(w)), { sid: t.sid, created: false }, 'cancelled already: still success');
  });
});

test('a loser gives up with 503 in_progress when the winner never records within the wait', async () => {
  await scenario({}, async (w) => {
    const client = createClient(w.env);
    await ledger.claim(client, args(w));
    const started = Date.now();
    await assert.rejects(ledger.writeMosTask(client, args(w)), (e) => e.status === 503 && e.code === 'in_progress');
    assert.ok(Date.now() - started < 4000);
    assert.equal(w.fake.tasks.size, 0);
  });
});

test('the MOS task attributes are the server\'s own, small by construction', () => {
  const { attributes, json } = ledger.buildMosTaskAttributes({ taskSid: TASK, slot: 7, summary: { ...SUMMARY, average: 4.305 } });
  assert.deepEqual(attributes, {
    conversations: { conversation_id: TASK, virtual: 'Yes', conversation_attribute_7: '4.31', conversation_measure_7: 4.31 },
    mos_score_for: TASK,
    mos_score: { average: 4.31, minimum: 3.02, poorShare: 0.05, samples: 360, source: 'voice-insights' },
  });
  assert.equal(attributes.conversations.conversation_attribute_7, attributes.conversations.conversation_measure_7.toFixed(2), 'the text is derived from the measure');
  // the largest possible: slot 10, the longest numbers the validators allow, the longest source
  const worst = ledger.buildMosTaskAttributes({ taskSid: TASK, slot: 10, summary: { average: 1.11, minimum: 1.11, poorShare: 0.11, samples: Number.MAX_SAFE_INTEGER, source: 'voice-insights' } }).json;
  assert.ok(Buffer.byteLength(worst) < 512 && Buffer.byteLength(worst) < ledger.ATTRIBUTES_MAX_BYTES, `${Buffer.byteLength(worst)} bytes`);
  assert.ok(Buffer.byteLength(json) < 512);
});

test('the MOS task joins the original task\'s conversation: a plain short conversation id is taken, anything else falls back to the task SID', () => {
  const conv = (conversationId) => ledger.buildMosTaskAttributes({ taskSid: TASK, slot: 5, summary: SUMMARY, conversationId }).attributes.conversations.conversation_id;
  assert.equal(ledger.buildMosTaskAttributes({ taskSid: TASK, slot: 5, summary: SUMMARY }).attributes.conversations.conversation_id, TASK, 'default: the task SID');
  assert.equal(conv('WT' + 'e'.repeat(32)), 'WT' + 'e'.repeat(32));
  assert.equal(conv('CH-legacy conversation 42'), 'CH-legacy conversation 42');
  assert.equal(conv('x'.repeat(ledger.CONVERSATION_ID_MAX)), 'x'.repeat(ledger.CONVERSATION_ID_MAX));
  for (const bad of ['x'.repeat(ledger.CONVERSATION_ID_MAX + 1), '', '   ', 'a\nb', 'a\u0000b', 'a\u007fb', 'a\u0085b', 42, null, { id: 'WT1' }, ['WT1']]) {
    assert.equal(conv(bad), TASK, JSON.stringify(bad));
  }
  const worst = ledger.buildMosTaskAttributes({ taskSid: TASK, slot: 10, summary: { average: 1.11, minimum: 1.11, poorShare: 0.11, samples: Number.MAX_SAFE_INTEGER, source: 'voice-insights' }, conversationId: '\u20ac'.repeat(ledger.CONVERSATION_ID_MAX) }).json;
  assert.ok(Buffer.byteLength(worst) < 1024, `${Buffer.byteLength(worst)} bytes`);
});

test('a failed record leaves the task pending and answers 503; the takeover records and cancels it, so no second task ever, even after TaskRouter deletes it', async () => {
  await scenario({ failures: [{ ...faults.serverError('updateSyncMapItem', 4) }] }, async (w) => {
    const client = createClient(w.env);
    await assert.rejects(ledger.writeMosTask(client, args(w)), (e) => e.status === 503 && e.code === 'in_progress');
    assert.equal(w.fake.tasks.size, 1);
    const [sid] = w.fake.tasks.keys();
    assert.equal(w.fake.tasks.get(sid).assignment_status, 'pending', 'not cancelled while the ledger does not know it: it stays searchable');
    assert.equal(item(w).data.state, 'claimed', 'the ledger never learned the SID');
    await assert.rejects(ledger.writeMosTask(client, args(w)), (e) => e.code === 'in_progress', 'within 60 s the claim is respected');
    // Six minutes later: TaskRouter has deleted every task that ended 5 minutes ago (the fake leaves that to the test).
    const expireEnded = () => {
      for (const [s, t] of [...w.fake.tasks]) if (t.assignment_status === 'canceled' || t.assignment_status === 'completed') w.fake.deleteTask(s);
    };
    expireEnded();
    item(w).data.claimedAt = Date.now() - 6 * 60 * 1000;
    assert.deepEqual(await ledger.writeMosTask(client, args(w)), { sid, created: false }, 'the takeover finds the pending task by its marker');
    assert.equal(w.fake.tasks.size, 1);
    assert.equal(w.fake.tasks.get(sid).assignment_status, 'canceled');
    assert.equal(item(w).data.mosTaskSid, sid);
    assert.equal(item(w).data.state, 'done');
    // TaskRouter deletes the cancelled task 5 minutes later; a later writer (server mode's summary event) still finds the ledger's answer.
    expireEnded();
    item(w).data.claimedAt = Date.now() - 12 * 60 * 1000;
    assert.deepEqual(await ledger.writeMosTask(client, args(w)), { sid, created: false });
    assert.equal(w.fake.tasks.size, 0, 'no second MOS task');
    assert.equal(w.count('createTask'), 1);
  });
});
