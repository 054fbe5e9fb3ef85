'use strict';
/**
 * The fake itself: its bodies match Twilio's OpenAPI response schemas, the
 * schema check really catches off-spec bodies, pagination and expressions
 * behave, and the CLI mode works. Uses the real `twilio` client.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const twilio = require('twilio');
const { startFakeTwilio, faults, compileExpression, DEFAULTS } = require('./support/fake-twilio');
const { install } = require('./support/redirect-twilio');
const { validateBody, checkRecordedResponses, OAI_DIR } = require('./support/schemas');
const { fixture } = require('../../fixtures/metrics/generate');

const REPO = path.resolve(__dirname, '../..');

test('the OpenAPI specs are read from the pinned npm package @twilio-alpha/mcp, inside this repository', () => {
  assert.equal(OAI_DIR, path.join(REPO, 'functions/node_modules/@twilio-alpha/mcp/twilio-oai/spec/json'));
  const pkg = require('../package.json');
  assert.match(pkg.devDependencies['@twilio-alpha/mcp'], /^\d+\.\d+\.\d+$/, 'pinned exactly');
});

test('the schema check rejects off-spec bodies (so passing it means something)', () => {
  const good = fixture('call_60.json').items.slice(0, 3);
  const meta = { page: 0, page_size: 50, first_page_url: 'https://insights.twilio.com/v1/x', previous_page_url: null, next_page_url: null, url: 'https://insights.twilio.com/v1/x', key: 'metrics' };
  assert.deepEqual(validateBody('ListMetric', 200, { metrics: good, meta }), []);
  assert.notDeepEqual(validateBody('ListMetric', 200, { metrics: [{ ...good[0], edge: 'phone_edge' }], meta }), []);
  assert.notDeepEqual(validateBody('ListMetric', 200, { metrics: [{ ...good[0], callSid: good[0].call_sid }], meta }), [], 'camelCase key on the wire');
  assert.notDeepEqual(validateBody('ListMetric', 200, { metrics: good, meta: { ...meta, next_page_url: 'not a url' } }), []);
  assert.notDeepEqual(validateBody('CreateTask', 201, { sid: 'WT123', assignment_status: 'pending' }), []);
  assert.notDeepEqual(validateBody('UpdateTask', 200, { sid: 'WT' + 'a'.repeat(32), assignment_status: 'cancelled' }), [], 'British spelling is not a Twilio status');
  assert.deepEqual(checkRecordedResponses([{ route: 'createTask', method: 'POST', path: '/x', status: 400, response: { code: 20001, message: 'm', more_info: 'u', status: 400 } }]), []);
  assert.notDeepEqual(checkRecordedResponses([{ route: 'createTask', method: 'POST', path: '/x', status: 400, response: { error: 'nope' } }]), []);
});

test('every committed metrics item is a valid ListMetric item', () => {
  for (const name of ['call_60.json', 'call_360.json', 'mixed_edges_nulls.json', 'rounding_tie.json', 'only_nulls.json']) {
    const meta = { page: 0, page_size: 1000, first_page_url: 'https://insights.twilio.com/v1/x', previous_page_url: null, next_page_url: null, url: 'https://insights.twilio.com/v1/x', key: 'metrics' };
    assert.deepEqual(validateBody('ListMetric', 200, { metrics: fixture(name).items, meta }), [], name);
  }
});

test('committed fixtures are exactly what the generator produces', () => {
  execFileSync(process.execPath, [path.join(REPO, 'fixtures/metrics/generate.js'), '--check']);
});

test('metrics: Edge filter, PageSize cap, pagination over absolute next_page_url, all on spec', async () => {
  const f = fixture('call_1440.json');
  const fake = await startFakeTwilio({ metricsByCall: { [f.callSid]: f.items }, maxPageSize: 500 });
  const undo = install(fake.url);
  try {
    const client = twilio(fake.config.accountSid, fake.config.authToken);
    const sdk = await client.insights.v1.calls(f.callSid).metrics.list({ edge: 'sdk_edge', pageSize: 1000 });
    assert.equal(sdk.length, 1440);
    assert.ok(sdk.every((m) => m.edge === 'sdk_edge'));
    assert.equal(fake.requests.length, 3, '1440 / 500 per page = 3 pages');
    assert.deepEqual(fake.requests.map((r) => r.query.PageToken), [undefined, 'PT500', 'PT1000']);
    assert.ok(fake.requests.every((r) => r.host === 'insights.twilio.com'));
    assert.match(fake.requests[0].response.meta.next_page_url, /^https:\/\/insights\.twilio\.com\/v1\/Voice\/CA[0-9a-f]{32}\/Metrics\?.*Page=1/);
    assert.equal(fake.requests[0].response.meta.page_size, 500);
    fake.resetRequests();
    const all = await client.insights.v1.calls(f.callSid).metrics.list();
    assert.equal(all.length, 4320);
    assert.equal(fake.requests.length, 87, 'no Edge, no PageSize: every edge at the default 50 per page -> ceil(4320 / 50)');
    assert.deepEqual(checkRecordedResponses(fake.requests), []);
  } finally {
    undo();
    await fake.close();
  }
});

test('requests without the account credentials get 401 20003', async () => {
  const fake = await startFakeTwilio({ metricsByCall: {} });
  const undo = install(fake.url);
  try {
    const client = twilio(fake.config.accountSid, 'wrong-token');
    await assert.rejects(client.insights.v1.calls('CA' + 'a'.repeat(32)).metrics.list(), (e) => e.status === 401 && e.code === 20003);
  } finally {
    undo();
    await fake.close();
  }
});

test('faults: 429 then success, and a committed create whose answer is lost', async () => {
  const fake = await startFakeTwilio({ failures: [faults.rateLimited('createTask'), faults.serverError('createTask', 1, { commit: true })] });
  const undo = install(fake.url);
  try {
    const tasks = twilio(fake.config.accountSid, fake.config.authToken).taskrouter.v1.workspaces(fake.config.workspaceSid).tasks;
    const create = () => tasks.create({ workflowSid: fake.config.workflowSid, taskChannel: 'mos_score', attributes: '{"a":1}' });
    await assert.rejects(create(), (e) => e.status === 429 && e.code === 20429);
    assert.equal(fake.tasks.size, 0, 'a non-commit failure creates nothing');
    await assert.rejects(create(), (e) => e.status === 500);
    assert.equal(fake.tasks.size, 1, 'commit: the task exists although the client saw 500');
    const ok = await create();
    assert.equal(ok.assignmentStatus, 'pending');
    assert.equal(fake.tasks.size, 2);
    assert.deepEqual(checkRecordedResponses(fake.requests), []);
  } finally {
    undo();
    await fake.close();
  }
});

test('tasks: create, list by EvaluateTaskAttributes, fetch, cancel; on spec', async () => {
  const fake = await startFakeTwilio();
  const undo = install(fake.url);
  try {
    const ws = twilio(fake.config.accountSid, fake.config.authToken).taskrouter.v1.workspaces(fake.config.workspaceSid);
    const a = await ws.tasks.create({ workflowSid: fake.config.workflowSid, taskChannel: 'mos_score', attributes: JSON.stringify({ mos_score_for: 'WT1', conversations: { channel: 'mos_score' } }) });
    await ws.tasks.create({ workflowSid: fake.config.workflowSid, taskChannel: 'voice', attributes: JSON.stringify({ conversations: { conversation_id: 'WT1' } }) });
    assert.equal(a.taskChannelUniqueName, 'mos_score');
    const found = await ws.tasks.list({ evaluateTaskAttributes: 'mos_score_for == "WT1"' });
    assert.deepEqual(found.map((t) => t.sid), [a.sid]);
    assert.equal(found[0].attributes, null, 'ListTask carries no attributes (spec)');
    assert.equal((await ws.tasks.list({ evaluateTaskAttributes: 'conversations.conversation_id == "WT1" AND conversations.channel == "mos_score"' })).length, 0);
    assert.equal((await ws.tasks(a.sid).fetch()).attributes, JSON.stringify({ mos_score_for: 'WT1', conversations: { channel: 'mos_score' } }));
    await assert.rejects(ws.tasks(a.sid).update({ assignmentStatus: 'canceled' }), (e) => e.status === 400, 'Reason is required');
    const c = await ws.tasks(a.sid).update({ assignmentStatus: 'canceled', reason: 'MOS score recorded' });
    assert.equal(c.assignmentStatus, 'canceled');
    await assert.rejects(ws.tasks(a.sid).update({ assignmentStatus: 'canceled', reason: 'again' }), (e) => e.status === 400);
    await assert.rejects(ws.tasks.list({ evaluateTaskAttributes: 'mos_score_for ~= 1' }), (e) => e.status === 400);
    await assert.rejects(ws.tasks.create({ taskChannel: 'nope', attributes: '{}' }), (e) => e.status === 400);
    assert.deepEqual(checkRecordedResponses(fake.requests), []);
  } finally {
    undo();
    await fake.close();
  }
});

test('expression subset: ==, !=, AND, OR, NOT, HAS, parentheses, numbers', () => {
  const a = { x: 'a', n: 3, arr: ['k'], c: { d: 'e' } };
  const t = (e) => compileExpression(e)(a);
  assert.equal(t('x == "a"'), true);
  assert.equal(t("x == 'a' AND c.d == \"e\""), true);
  assert.equal(t('x == "b" OR n > 2'), true);
  assert.equal(t('NOT (x == "a")'), false);
  assert.equal(t('arr HAS "k"'), true);
  assert.equal(t('missing.path == "a"'), false);
  assert.equal(t('n >= 3 and n <= 3'), true);
  assert.throws(() => compileExpression('x =='));
  assert.throws(() => compileExpression('x == "a" garbage'));
});

test('CLI mode prints its URL as JSON and serves the committed fixtures', async () => {
  const child = spawn(process.execPath, [path.join(__dirname, 'support/fake-twilio.js'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d;
        if (buf.includes('\n')) resolve(buf.split('\n')[0]);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const info = JSON.parse(line);
    assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(info.accountSid, DEFAULTS.accountSid);
    const sid = fixture('call_60.json').callSid;
    assert.ok(info.calls.includes(sid));
    const auth = 'Basic ' + Buffer.from(`${info.accountSid}:${info.authToken}`).toString('base64');
    const res = await fetch(`${info.url}/v1/Voice/${sid}/Metrics?Edge=sdk_edge&PageSize=1000`, { headers: { authorization: auth } });
    const body = await res.json();
    assert.equal(body.metrics.length, 60);
    const log = await (await fetch(`${info.url}/__fake/requests`)).json();
    assert.equal(log.length, 1);
    assert.equal(log[0].route, 'metrics');
  } finally {
    child.kill('SIGTERM');
  }
});

test('the schema check also rejects off-spec Sync items, reservations and Events', () => {
  const item = { key: 'k', account_sid: DEFAULTS.accountSid, service_sid: DEFAULTS.syncServiceSid, map_sid: 'MP' + 'a'.repeat(32), url: 'https://sync.twilio.com/v1/x', revision: '0', data: {}, date_expires: null, date_created: '2026-01-01T00:00:00Z', date_updated: '2026-01-01T00:00:00Z', created_by: 'system' };
  assert.deepEqual(validateBody('CreateSyncMapItem', 201, item), []);
  assert.notDeepEqual(validateBody('CreateSyncMapItem', 201, { ...item, revision: 0 }), [], 'revision is a string on the wire');
  assert.notDeepEqual(validateBody('FetchSyncMapItem', 200, { ...item, ttl: 60 }), [], 'no invented keys');
  assert.notDeepEqual(validateBody('UpdateSyncMapItem', 200, { ...item, map_sid: 'MX' + 'a'.repeat(32) }), []);
  const meta = { page: 0, page_size: 50, first_page_url: 'https://taskrouter.twilio.com/v1/x', previous_page_url: null, next_page_url: null, url: 'https://taskrouter.twilio.com/v1/x', key: 'reservations' };
  const res = { account_sid: DEFAULTS.accountSid, date_created: '2026-01-01T00:00:00Z', date_updated: '2026-01-01T00:00:00Z', reservation_status: 'completed', sid: 'WR' + 'a'.repeat(32), task_sid: 'WT' + 'a'.repeat(32), worker_name: 'w', worker_sid: 'WK' + 'a'.repeat(32), workspace_sid: DEFAULTS.workspaceSid, url: 'https://taskrouter.twilio.com/v1/x', links: {} };
  assert.deepEqual(validateBody('ListTaskReservation', 200, { reservations: [res], meta }), []);
  assert.notDeepEqual(validateBody('ListTaskReservation', 200, { reservations: [{ ...res, reservation_status: 'done' }], meta }), []);
  assert.notDeepEqual(validateBody('ListEvent', 200, { events: [{ sid: 'WR' + 'a'.repeat(32) }], meta: { ...meta, key: 'events' } }), [], 'an Event SID is EV…');
});

test('Sync: 409 on a taken key, 412 on a stale If-Match, TTL expiry, "default" alias, all on spec', async () => {
  const fake = await startFakeTwilio({});
  const undo = install(fake.url);
  try {
    const client = twilio(fake.config.accountSid, fake.config.authToken);
    const svc = client.sync.v1.services('default');
    const service = await svc.fetch();
    assert.equal(service.sid, fake.config.syncServiceSid);
    assert.equal(service.uniqueName, 'default');
    await assert.rejects(svc.syncMaps('m').syncMapItems.create({ key: 'a', data: {} }), (e) => e.status === 404 && e.code === 54200);
    await svc.syncMaps.create({ uniqueName: 'm' });
    await assert.rejects(svc.syncMaps.create({ uniqueName: 'm' }), (e) => e.status === 409);
    const items = client.sync.v1.services(fake.config.syncServiceSid).syncMaps('m').syncMapItems;
    const a = await items.create({ key: 'a', data: { n: 1 }, itemTtl: 1 });
    assert.ok(a.dateExpires);
    await assert.rejects(items.create({ key: 'a', data: {} }), (e) => e.status === 409 && e.code === 54208);
    const b = await items('a').update({ data: { n: 2 }, ifMatch: a.revision });
    assert.equal(b.revision, '1');
    await assert.rejects(items('a').update({ data: { n: 3 }, ifMatch: a.revision }), (e) => e.status === 412 && e.code === 54205);
    await assert.rejects(items('a').remove({ ifMatch: a.revision }), (e) => e.status === 412);
    await new Promise((r) => setTimeout(r, 1100));
    await assert.rejects(items('a').fetch(), (e) => e.status === 404 && e.code === 54201, 'expired after its 1 s TTL');
    const c = await items.create({ key: 'a', data: {} });
    assert.equal(await items('a').remove({ ifMatch: c.revision }), true);
    await assert.rejects(client.sync.v1.services('IS' + 'f'.repeat(32)).syncMaps('m').fetch(), (e) => e.status === 404);
  } finally {
    undo();
    await fake.close();
  }
  assert.deepEqual(checkRecordedResponses(fake.requests), []);
});

test('TaskRouter: a seeded handled task shows its reservation while live, only its Events once deleted, Events expire after 30 days', async () => {
  const WT = 'WT' + 'a'.repeat(32);
  const WK = DEFAULTS.workerSid;
  const fake = await startFakeTwilio({ handled: [{ workerSid: WK, taskSid: WT }, { workerSid: WK, taskSid: 'WT' + 'b'.repeat(32), live: false, minutesAgo: 31 * 24 * 60 }] });
  const undo = install(fake.url);
  try {
    const ws = twilio(fake.config.accountSid, fake.config.authToken).taskrouter.v1.workspaces(fake.config.workspaceSid);
    const live = await ws.tasks(WT).reservations.list({ workerSid: WK });
    assert.deepEqual(live.map((r) => r.reservationStatus), ['completed']);
    assert.deepEqual(await ws.tasks(WT).reservations.list({ workerSid: 'WK' + 'c'.repeat(32) }), []);
    const recent = await ws.events.list({ taskSid: WT, workerSid: WK, eventType: 'reservation.accepted' });
    assert.equal(recent.length, 1, 'default window 15 min; seeded 1 min ago');
    fake.expireTask(WT);
    await assert.rejects(ws.tasks(WT).reservations.list(), (e) => e.status === 404);
    assert.equal((await ws.events.list({ taskSid: WT, minutes: 60 })).length, 4, 'created, accepted, wrapup, completed');
    assert.equal((await ws.events.list({ taskSid: 'WT' + 'b'.repeat(32), minutes: 60 * 24 * 60 })).length, 0, 'older than 30 days: gone');
  } finally {
    undo();
    await fake.close();
  }
  assert.deepEqual(checkRecordedResponses(fake.requests), []);
});
