'use strict';
/**
 * Hostile input against both Functions, in-process with the real `twilio`
 * client and the real validator, Twilio faked on loopback. For every case:
 * its status, whether a JSON error came back, whether our CORS headers were
 * there, the Twilio calls it caused (IAM token checks apart) and the tasks it
 * created. The suite ends with counted figure lines.
 *
 * Two groups:
 *   - bad inputs (malformed SIDs, bodies, content types, tokens, fields,
 *     numbers, proofs): must be refused before any Twilio call except, for a
 *     well-shaped token, the one IAM check;
 *   - unauthorised but well-formed (another worker's or a random task): the
 *     one authorisation look-up, then 403, nothing else.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { invoke, readFixture, VALID_TOKEN, TASK, scenario } = require('./support/harness');
const { makeToken, DEFAULTS } = require('./support/fake-twilio');

const expected = readFixture('expected.json')['call_60.json'];
const CALL = expected.callSid;
const HEX = TASK.slice(2);
const TOKEN_B = makeToken('worker-b');
const JSON_TYPE = { 'content-type': 'application/json' };

const baseGet = { Token: VALID_TOKEN, TaskSid: TASK, CallSid: CALL };
const baseCreate = { ...baseGet, AttributeSlot: '5', Average: '4.10', Minimum: '3.20', PoorShare: '0.10', Samples: '12', Source: 'sdk' };

/** [name, function, event, headers?] */
const BAD = [];
const add = (name, fn, event, headers) => BAD.push({ name, fn, event, headers });
const both = (name, patch, headers) => {
  add(`get: ${name}`, 'get_mos_score', { ...baseGet, ...patch }, headers);
  add(`create: ${name}`, 'create_mos_score_task', { ...baseCreate, ...patch }, headers);
};

// tokens
both('no Token', { Token: undefined });
both('empty Token', { Token: '' });
both('Token not a JWT', { Token: 'valid-flex-token' });
both('200 KB Token', { Token: `a.b.${'c'.repeat(200 * 1024)}` });
both('non-ASCII Token', { Token: 'ä.b.c' });
both('Token with a newline', { Token: `${VALID_TOKEN}\n` });
both('Token given twice', { Token: [VALID_TOKEN, VALID_TOKEN] });
both('JWT-shaped forged Token (IAM says no)', { Token: makeToken('forged') });
add('get: Token with spaces', 'get_mos_score', { ...baseGet, Token: 'a b.c.d' });
add('get: Token as an object (JSON)', 'get_mos_score', { ...baseGet, Token: { $ne: null } }, JSON_TYPE);
// transport: methods and content types
both('GET with the Token in the URL', {}, {});
both('GET without a Token', { Token: undefined }, {});
both('text/plain body', {}, { 'content-type': 'text/plain' });
both('multipart body', {}, { 'content-type': 'multipart/form-data; boundary=x' });
add('get: XML body', 'get_mos_score', baseGet, { 'content-type': 'application/xml' });
add('create: JSON-patch body', 'create_mos_score_task', baseCreate, { 'content-type': 'application/json-patch+json' });
add('get: no runtime request info at all', 'get_mos_score', baseGet, null);
// SIDs
for (const [label, sid] of [
  ['missing', undefined], ['empty', ''], ['short', 'WT123'], ['non-hex', 'WT' + 'g'.repeat(32)], ['lowercase prefix', 'wt' + HEX],
  ['a CallSid', 'CA' + HEX], ['one digit too many', `WT${HEX}0`], ['leading space', ` WT${HEX}`], ['trailing newline', `WT${HEX}\n`],
  ['Arabic-Indic digit', `WT${HEX.slice(0, 31)}\u0663`], ['path traversal', 'WT../../Workspaces'], ['expression injection', 'WT" OR 1 == 1 OR "'],
  ['given twice', [TASK, TASK]],
]) both(`TaskSid ${label}`, { TaskSid: sid });
for (const [label, sid] of [
  ['missing', undefined], ['short', 'CA1'], ['a TaskSid', TASK], ['non-hex', 'CA' + 'z'.repeat(32)], ['lowercase prefix', 'ca' + HEX], ['URL', 'https://evil.example/CA'],
]) both(`CallSid ${label}`, { CallSid: sid });
// fields nobody asked for: nothing rides along to TaskRouter
for (const [key, value] of [
  ['Attributes', JSON.stringify({ conversations: { conversation_attribute_1: 'agent is rude', conversation_measure_1: -999 } })],
  ['conversation_attribute_1', 'agent is rude'], ['priority', '999999'], ['worker_sid', 'WK' + HEX], ['hang_up_by', 'Agent'],
  ['OriginalTaskSid', TASK], ['constructor', 'x'], ['prototype', 'x'], ['Samples2', '1'],
]) add(`create: extra field ${key}`, 'create_mos_score_task', { ...baseCreate, [key]: value });
add('create: __proto__ key in a JSON body', 'create_mos_score_task', JSON.parse(`{"__proto__":{"polluted":true},${JSON.stringify(baseCreate).slice(1)}`), JSON_TYPE);
add('get: extra field Attributes', 'get_mos_score', { ...baseGet, Attributes: '{}' });
// numbers
for (const [field, bad] of [
  ['Average', '0.99'], ['Average', '5.01'], ['Average', '4.305'], ['Average', 'NaN'], ['Average', 'Infinity'], ['Average', '-1'], ['Average', ' 1.00 \n'],
  ['Average', '1e0'], ['Average', '4,3'], ['Average', undefined], ['Average', '4.3\u202e'], ['Average', '4.3\u0000'],
  ['Minimum', '4.50'], ['Minimum', '0'], ['PoorShare', '1.5'], ['PoorShare', '-0.1'], ['PoorShare', undefined],
  ['Samples', '0'], ['Samples', '-1'], ['Samples', '1.5'], ['Samples', '10000000'], ['Samples', 'x'],
  ['AttributeSlot', '0'], ['AttributeSlot', '11'], ['AttributeSlot', '5.0'], ['AttributeSlot', 'x'], ['AttributeSlot', '-1'],
  ['Source', 'client'], ['Source', 'SDK'], ['Source', undefined],
]) add(`create: ${field} ${JSON.stringify(bad)}`, 'create_mos_score_task', { ...baseCreate, [field]: bad });
add('create: Average as a JSON boolean', 'create_mos_score_task', { ...baseCreate, Average: true }, JSON_TYPE);
add('create: Average as a JSON object', 'create_mos_score_task', { ...baseCreate, Average: { $gt: 1 } }, JSON_TYPE);
add('create: Average as a JSON number with 3 decimals', 'create_mos_score_task', { ...baseCreate, Average: 4.305 }, JSON_TYPE);
// proofs
const vi = { ...baseCreate, Source: 'voice-insights' };
add('create: voice-insights without Proof', 'create_mos_score_task', vi);
add('create: Proof garbage', 'create_mos_score_task', { ...vi, Proof: 'trust me' });
add('create: Proof of the right shape, wrong MAC', 'create_mos_score_task', { ...vi, Proof: `v1.${(Math.floor(Date.now() / 1000) + 3600).toString(36)}.${'A'.repeat(43)}` });
add('create: Proof 10 KB', 'create_mos_score_task', { ...vi, Proof: 'v1.' + 'a'.repeat(10240) });

/** Well-formed, valid token, but not this worker's task. */
const UNAUTHORISED = [];
for (let i = 0; i < 3; i += 1) {
  const random = 'WT' + require('crypto').randomBytes(16).toString('hex');
  UNAUTHORISED.push({ name: `get: random task ${i + 1}`, fn: 'get_mos_score', event: { ...baseGet, TaskSid: random } });
  UNAUTHORISED.push({ name: `create: random task ${i + 1}`, fn: 'create_mos_score_task', event: { ...baseCreate, TaskSid: random } });
}
UNAUTHORISED.push({ name: 'get: worker B on worker A\'s task', fn: 'get_mos_score', event: { ...baseGet, Token: TOKEN_B } });
UNAUTHORISED.push({ name: 'create: worker B on worker A\'s task', fn: 'create_mos_score_task', event: { ...baseCreate, Token: TOKEN_B } });

async function run(w, c) {
  const before = w.fake.requests.length;
  const tasksBefore = w.fake.tasks.size;
  const res = await invoke(c.fn, { env: w.env, event: c.event, headers: c.headers === undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : c.headers });
  const calls = w.fake.requests.slice(before);
  return {
    name: c.name,
    status: res.status,
    json: Boolean(res.body && res.body.error && typeof res.body.error.code === 'string' && typeof res.body.error.message === 'string'),
    code: res.body && res.body.error && res.body.error.code,
    cors: res.headers['Access-Control-Allow-Origin'] === 'https://flex.twilio.com' && res.headers['Content-Type'] === 'application/json',
    tokenChecks: calls.filter((r) => r.route === 'validateToken').length,
    twilioCalls: calls.filter((r) => r.route !== 'validateToken').length,
    tasks: w.fake.tasks.size - tasksBefore,
    message: res.body && res.body.error && res.body.error.message,
  };
}

test('hostile input: every bad request is a 4xx JSON error with CORS, creates nothing and calls nothing beyond the token check', async () => {
  assert.ok(BAD.length >= 80, `${BAD.length} cases`);
  await scenario({ metricsByCall: { [CALL]: readFixture('call_60.json') }, tokens: { [TOKEN_B]: { workerSid: 'WK' + 'b'.repeat(32) } }, handled: [{ workerSid: DEFAULTS.workerSid, taskSid: TASK }] }, async (w) => {
    const rows = [];
    for (const c of BAD) rows.push(await run(w, c));
    for (const r of rows) {
      console.log(`  ${String(r.status).padEnd(3)} ${String(r.code).padEnd(22)} cors=${r.cors ? 'y' : 'n'} iam=${r.tokenChecks} twilio=${r.twilioCalls} tasks=${r.tasks}  ${r.name}`);
      assert.ok(r.status >= 400 && r.status < 500, `${r.name}: ${r.status}`);
      assert.ok(r.json, `${r.name}: JSON error`);
      assert.ok(r.cors, `${r.name}: CORS`);
      assert.equal(r.twilioCalls, 0, `${r.name}: Twilio calls`);
      assert.equal(r.tasks, 0, `${r.name}: tasks`);
      assert.ok(r.tokenChecks <= 1, r.name);
      for (const c of BAD) {
        const tok = c.event && c.event.Token;
        if (typeof tok === 'string' && tok.length > 8) assert.ok(!r.message.includes(tok), `${r.name}: the token is echoed`);
      }
      assert.doesNotMatch(r.message, /[\u0000-\u001f\u007f-\uffff]/, `${r.name}: the message is printable ASCII`);
    }
    const tokenCalls = rows.reduce((n, r) => n + r.tokenChecks, 0);
    assert.ok(tokenCalls < rows.length / 3, `most bad inputs never reach IAM (${tokenCalls} did)`);
    assert.equal(w.fake.tasks.size, 0);
    const good = rows.filter((r) => r.status >= 400 && r.status < 500 && r.json && r.cors).length;
    const tasks = rows.reduce((n, r) => n + r.tasks, 0);
    const beyond = rows.reduce((n, r) => n + r.twilioCalls, 0);
    console.log(`bad inputs: ${rows.length} tried, ${good} answered 4xx JSON with CORS, ${tasks} tasks created, ${beyond} Twilio calls beyond token checks (${tokenCalls} token checks)`);

    const denied = [];
    for (const c of UNAUTHORISED) denied.push(await run(w, c));
    for (const r of denied) {
      assert.equal(r.status, 403, r.name);
      assert.equal(r.code, 'not_your_task', r.name);
      assert.ok(r.cors && r.json, r.name);
      assert.ok(r.twilioCalls >= 1 && r.twilioCalls <= 2, `${r.name}: one authorisation look-up (then Events when the task is unknown), got ${r.twilioCalls}`);
      assert.equal(r.tasks, 0);
    }
    const lookups = w.fake.requests.filter((r) => r.route === 'listTaskReservations' || r.route === 'listEvents').length;
    const other = w.fake.requests.filter((r) => !['validateToken', 'listTaskReservations', 'listEvents'].includes(r.route)).length;
    assert.equal(other, 0, 'no Voice Insights read, no Sync, no TaskRouter write');
    console.log(`unauthorised: ${denied.length} tried, ${denied.filter((r) => r.status === 403 && r.code === 'not_your_task').length} answered 403 not_your_task, ${denied.reduce((n, r) => n + r.tasks, 0)} tasks created, ${lookups} authorisation look-ups, ${other} other Twilio calls`);
  });
});
