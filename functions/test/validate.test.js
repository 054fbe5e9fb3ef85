'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { functionsMap } = require('./support/harness');
const { makeToken } = require('./support/fake-twilio');

const v = require(functionsMap()['mos-validate'].path);

const HEX = '0123456789abcdef'.repeat(2);
const TASK = 'WT' + HEX;
const CALL = 'CA' + HEX;
const good = { Token: 't', TaskSid: TASK, CallSid: CALL, Average: '4.31', Minimum: '3.02', PoorShare: '0.05', Samples: '360', Source: 'sdk' };

function throwsField(fn, field, pattern, code = 'invalid_parameter') {
  assert.throws(fn, (err) => {
    assert.equal(err.name, 'ValidationError');
    assert.equal(err.field, field);
    assert.equal(err.code, code);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

test('SIDs must match their pattern and are normalised to lowercase hex', () => {
  assert.equal(v.parseSid('WT' + HEX.toUpperCase(), 'TaskSid', 'WT'), TASK);
  assert.equal(v.parseSid('CA' + 'aB'.repeat(16), 'CallSid', 'CA'), 'CA' + 'ab'.repeat(16));
  for (const bad of [undefined, null, '', 'WT', 'WT' + 'g'.repeat(32), 'wt' + HEX, 'WT' + HEX + '0', ' ' + TASK, 42, [TASK], CALL]) {
    throwsField(() => v.parseSid(bad, 'TaskSid', 'WT'), 'TaskSid', /32 hex/);
  }
});

test('get_mos_score takes exactly Token, TaskSid, CallSid (plus the runtime\'s request)', () => {
  assert.deepEqual(v.parseGetRequest({ Token: 't', TaskSid: TASK, CallSid: CALL, request: { headers: {} } }), { taskSid: TASK, callSid: CALL });
  throwsField(() => v.parseGetRequest({ Token: 't', CallSid: CALL }), 'TaskSid', /required/);
  throwsField(() => v.parseGetRequest({ Token: 't', TaskSid: TASK, CallSid: CALL, OriginalTaskSid: TASK }), 'OriginalTaskSid', /Unknown field/);
  throwsField(() => v.parseGetRequest({ Token: 't', TaskSid: [TASK, TASK], CallSid: CALL }), 'TaskSid', /single text value/);
});

test('create_mos_score_task: the numbers, the slot, the source and the proof', () => {
  const ok = v.parseCreateRequest(good);
  assert.deepEqual(ok, { taskSid: TASK, callSid: CALL, slot: 5, summary: { average: 4.31, minimum: 3.02, poorShare: 0.05, samples: 360, source: 'sdk' }, proof: undefined });
  assert.equal(v.parseCreateRequest({ ...good, AttributeSlot: '10' }).slot, 10);
  assert.equal(v.parseCreateRequest({ ...good, Average: 4.3, Minimum: 3 }).summary.average, 4.3, 'JSON numbers too');
  for (const bad of ['0', '11', 'x', '2.5', '-1', '1e1', '05']) throwsField(() => v.parseCreateRequest({ ...good, AttributeSlot: bad }), 'AttributeSlot', /1 to 10/);
  for (const bad of ['0.99', '5.01', '4.305', 'NaN', '4,3', '1e0', ' 4.3', '4.3\n', '-4']) throwsField(() => v.parseCreateRequest({ ...good, Average: bad }), 'Average', /from 1 to 5/);
  throwsField(() => v.parseCreateRequest({ ...good, Minimum: '4.5' }), 'Minimum', /not be above Average/);
  throwsField(() => v.parseCreateRequest({ ...good, PoorShare: '1.5' }), 'PoorShare', /from 0 to 1/);
  for (const bad of ['0', '1.5', '-3', '10000000', 'many']) throwsField(() => v.parseCreateRequest({ ...good, Samples: bad }), 'Samples');
  throwsField(() => v.parseCreateRequest({ ...good, Source: 'client' }), 'Source', /voice-insights, sdk/);
  throwsField(() => v.parseCreateRequest({ ...good, Source: 'voice-insights' }), 'Proof', /required/, 'invalid_proof');
  throwsField(() => v.parseCreateRequest({ ...good, Source: 'voice-insights', Proof: 'v1.x.y' }), 'Proof', undefined, 'invalid_proof');
  throwsField(() => v.parseCreateRequest({ ...good, Attributes: '{}' }), 'Attributes', /Unknown field/);
  throwsField(() => v.parseCreateRequest({ ...good, __proto__: { x: 1 }, constructor: 'x' }), 'constructor', /Unknown field/);
});

test('token shape: present, at most 8 KiB, printable ASCII JWT', () => {
  assert.equal(v.tokenProblem(makeToken('a')), null);
  assert.match(v.tokenProblem(undefined), /not provided/);
  assert.match(v.tokenProblem(['a', 'b']), /single text/);
  assert.match(v.tokenProblem('a.b.' + 'c'.repeat(v.TOKEN_MAX_CHARS)), /longer than 8192/);
  for (const bad of ['plain', 'a.b', 'a..c', 'a.b.c.d', 'ä.b.c', 'a b.c.d', 'a.b.c\n']) assert.match(v.tokenProblem(bad), /not a Flex token/, bad);
});
