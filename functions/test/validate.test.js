'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { functionsMap } = require('./support/harness');

const v = require(functionsMap()['mos-validate'].path);

const TASK = 'WT' + '0123456789abcdef'.repeat(2);
const attrs = (extra = {}, conv = {}) => JSON.stringify({
  conversations: { conversation_id: TASK, channel: 'mos_score', virtual: 'Yes', conversation_attribute_5: '4.21', conversation_measure_5: 4.21, ...conv },
  mos_score: { average: 4.21, minimum: 3.02, poorShare: 0.05, samples: 360, source: 'voice-insights' },
  ...extra,
});

function throwsField(fn, field, pattern) {
  assert.throws(fn, (err) => {
    assert.equal(err.name, 'ValidationError');
    assert.equal(err.field, field);
    if (pattern) assert.match(err.message, pattern);
    assert.ok(err.message.includes(field.split('.')[0]), `message names the field: ${err.message}`);
    return true;
  });
}

test('CallSid and OriginalTaskSid must match their SID patterns', () => {
  assert.equal(v.parseCallSid('CA' + 'aB'.repeat(16)), 'CA' + 'aB'.repeat(16));
  for (const bad of [undefined, null, '', 'CA', 'CA' + 'g'.repeat(32), 'ca' + 'a'.repeat(32), 'CA' + 'a'.repeat(33), ' CA' + 'a'.repeat(32), 42, ['CA' + 'a'.repeat(32)], 'WT' + 'a'.repeat(32)]) {
    throwsField(() => v.parseCallSid(bad), 'CallSid');
  }
  assert.equal(v.parseTaskSid(TASK), TASK);
  for (const bad of [undefined, 'WT123', 'WR' + 'a'.repeat(32), 'CA' + 'a'.repeat(32)]) throwsField(() => v.parseTaskSid(bad), 'OriginalTaskSid');
});

test('valid Attributes pass and get the mos_score_for marker', () => {
  const { attributes, json } = v.parseAttributes(attrs(), TASK);
  assert.equal(attributes.mos_score_for, TASK);
  assert.equal(attributes.conversations.conversation_measure_5, 4.21);
  assert.deepEqual(JSON.parse(json), attributes);
  // a JSON body may carry the object itself
  assert.equal(v.parseAttributes(JSON.parse(attrs()), TASK).attributes.mos_score_for, TASK);
  // decimal strings are accepted as MOS values (Flex Insights attributes are often strings)
  assert.ok(v.parseAttributes(attrs({}, { conversation_attribute_5: '3.75' }), TASK));
  // the original task's other conversation attributes are its own data, not MOS: kept as they are
  const kept = v.parseAttributes(attrs({}, { conversation_attribute_1: 'gold-tier', conversation_measure_2: 120 }), TASK).attributes;
  assert.equal(kept.conversations.conversation_attribute_1, 'gold-tier');
  assert.equal(kept.conversations.conversation_measure_2, 120);
});

test('malformed Attributes are refused with the field named', () => {
  throwsField(() => v.parseAttributes(undefined, TASK), 'Attributes', /JSON string/);
  throwsField(() => v.parseAttributes(42, TASK), 'Attributes');
  throwsField(() => v.parseAttributes('{not json', TASK), 'Attributes', /not valid JSON/);
  throwsField(() => v.parseAttributes('[1,2]', TASK), 'Attributes', /array/);
  throwsField(() => v.parseAttributes('"x"', TASK), 'Attributes', /object/);
  throwsField(() => v.parseAttributes('null', TASK), 'Attributes');
  throwsField(() => v.parseAttributes('{}', TASK), 'Attributes.conversations');
  throwsField(() => v.parseAttributes(JSON.stringify({ conversations: { conversation_id: 'WT' + 'f'.repeat(32) } }), TASK), 'Attributes.conversations.conversation_id', new RegExp(TASK));
  throwsField(() => v.parseAttributes(attrs({ mos_score_for: 'WT' + 'f'.repeat(32) }), TASK), 'Attributes.mos_score_for');
});

test('AttributeSlot defaults to 5 and must be 1..10', () => {
  assert.equal(v.parseSlot(undefined), 5);
  assert.equal(v.parseSlot(''), 5);
  assert.equal(v.parseSlot('7'), 7);
  assert.equal(v.parseSlot(10), 10);
  for (const bad of ['0', '11', 'x', '2.5', 2.5, -1, '1e1']) throwsField(() => v.parseSlot(bad), 'AttributeSlot', /1 to 10/);
});

test('a MOS out of 1.0..5.0 (or not a number, or missing) in the MOS slot is refused', () => {
  const slot7 = (m) => attrs({}, { conversation_attribute_7: '4.00', conversation_measure_7: m });
  for (const bad of [0.99, 5.01, -1, 0, '5.5', 'abc', '', null, true, '4,2', '1e0', undefined]) {
    throwsField(() => v.parseAttributes(slot7(bad), TASK, 7), 'Attributes.conversations.conversation_measure_7');
  }
  throwsField(() => v.parseAttributes(attrs({}, { conversation_attribute_10: 9, conversation_measure_10: 4 }), TASK, 10), 'Attributes.conversations.conversation_attribute_10', /between 1.0 and 5.0/);
  throwsField(() => v.parseAttributes(attrs({}, { conversation_attribute_5: undefined }), TASK), 'Attributes.conversations.conversation_attribute_5', /missing/);
  for (const ok of [1, 5, '1.0', '5', 3.333]) assert.ok(v.parseAttributes(slot7(ok), TASK, 7));
  // other conversation fields are not MOS and are left alone
  assert.ok(v.parseAttributes(attrs({}, { conversation_label_1: 'x', abandoned: 'No' }), TASK));
  throwsField(() => v.parseAttributes(attrs({ mos_score: { average: 6, minimum: 3 } }), TASK), 'Attributes.mos_score.average');
  throwsField(() => v.parseAttributes(attrs({ mos_score: { average: 4, minimum: 0.5 } }), TASK), 'Attributes.mos_score.minimum');
  throwsField(() => v.parseAttributes(attrs({ mos_score: { average: 4, minimum: 3, poorShare: 1.5 } }), TASK), 'Attributes.mos_score.poorShare');
  throwsField(() => v.parseAttributes(attrs({ mos_score: { average: 4, minimum: 3, samples: 0 } }), TASK), 'Attributes.mos_score.samples');
});

test('Attributes over 16 KiB (UTF-8 bytes, whitespace included) are refused; exactly at the limit passes', () => {
  assert.equal(v.ATTRIBUTES_MAX_BYTES, 16384);
  const base = { conversations: { conversation_id: TASK, conversation_attribute_5: '4.20', conversation_measure_5: 4.2 }, note: '' };
  const marker = Buffer.byteLength(JSON.stringify({ ...base, mos_score_for: TASK })) - Buffer.byteLength(JSON.stringify(base));
  const sized = (n, ch = 'x') => {
    const empty = Buffer.byteLength(JSON.stringify(base));
    return JSON.stringify({ ...base, note: ch.repeat((n - empty) / Buffer.byteLength(ch)) });
  };
  const atLimit = sized(16384 - marker);
  assert.equal(Buffer.byteLength(atLimit), 16384 - marker);
  assert.ok(v.parseAttributes(atLimit, TASK));
  throwsField(() => v.parseAttributes(sized(16384 + 2), TASK), 'Attributes', /16386 bytes, over TaskRouter's 16384-byte/);
  // multi-byte characters count as bytes, not characters: 6000 x "é" is 12000 bytes, 6000 x "€" is 18000
  throwsField(() => v.parseAttributes(JSON.stringify({ ...base, note: '€'.repeat(6000) }), TASK), 'Attributes', /over TaskRouter/);
  // still fits before the marker, not after
  throwsField(() => v.parseAttributes(sized(16384 - marker + 2), TASK), 'Attributes', /once mos_score_for is added/);
});
