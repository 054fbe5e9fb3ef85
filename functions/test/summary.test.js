'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { functionsMap, readFixture } = require('./support/harness');
const { fixture, SIZES } = require('../../fixtures/metrics/generate');

const { summarise, round2, usableMos } = require(functionsMap()['mos-summary'].path);
const expected = readFixture('expected.json');

test('every metrics fixture summarises to the independently computed expected.json', () => {
  const names = Object.keys(expected);
  assert.ok(names.length >= 7, 'expected.json lists the fixtures');
  for (const name of names) {
    // call_1440.json is not committed; generate it exactly as the generator does.
    const items = SIZES.some((s) => s.file === name && !s.commit) ? fixture(name).items : readFixture(name);
    assert.deepEqual(summarise(items), expected[name].summary, name);
  }
});

test('fixture sizes are what the figures claim (sdk samples, ~3x items over all edges)', () => {
  for (const [name, sdk] of [['call_60.json', 60], ['call_360.json', 360], ['call_1440.json', 1440]]) {
    const { items } = fixture(name);
    assert.equal(items.filter((i) => i.edge === 'sdk_edge').length, sdk, name);
    assert.equal(items.length, 3 * sdk, name);
  }
});

test('camelCased helper objects and raw wire items are read the same way', () => {
  const wire = { edge: 'sdk_edge', sdk_edge: { interval: { mos: { value: 4.12 } } } };
  const helper = { edge: 'sdk_edge', sdkEdge: { interval: { mos: { value: 4.12 } } } };
  assert.equal(usableMos(wire), 4.12);
  assert.equal(usableMos(helper), 4.12);
});

test('unusable MOS values are skipped, never averaged: null, missing, strings, NaN, Infinity, outside 1..5', () => {
  const item = (value) => ({ sdkEdge: { interval: { mos: { value } } } });
  const junk = [item(null), item(undefined), item('4.2'), item(NaN), item(Infinity), item(0), item(5.01), item(0.99), { sdkEdge: null }, { sdkEdge: { interval: {} } }, null, {}];
  assert.equal(summarise(junk), null);
  assert.deepEqual(summarise([...junk, item(3), item(4)]), { average: 3.5, minimum: 3, poorShare: 0.5, samples: 2, source: 'voice-insights' });
  assert.deepEqual(summarise([item(1), item(5)]), { average: 3, minimum: 1, poorShare: 0.5, samples: 2, source: 'voice-insights' });
});

test('poorShare counts MOS strictly below 3.5', () => {
  const item = (value) => ({ sdk_edge: { interval: { mos: { value } } } });
  assert.equal(summarise([item(3.5), item(3.49), item(4), item(4)]).poorShare, 0.25);
});

test('round2 rounds half up at 2 decimals, including float-noise ties', () => {
  assert.equal(round2(4.305), 4.31);
  assert.equal(round2((4.3 + 4.31) / 2), 4.31);
  assert.equal(round2(1.005), 1.01);
  assert.equal(round2(4.30499), 4.3);
  assert.equal(round2(2 / 3), 0.67);
  assert.equal(round2(1 / 3), 0.33);
  assert.equal(round2(0.045), 0.05);
  assert.equal(round2(5), 5);
});

test('float noise does not flip an exact tie: mean of these six is exactly 3.815, the float sum gives 3.81499...', () => {
  const values = [3.42, 2.17, 4.78, 4.54, 4.35, 3.63];
  let sum = 0;
  for (const v of values) sum += v;
  assert.ok(sum / values.length < 3.815, 'the float mean really is below the tie');
  const item = (value) => ({ sdk_edge: { interval: { mos: { value } } } });
  assert.equal(summarise(values.map(item)).average, 3.82);
});

test('the one rounding rule: round2 and the MOS text agree with every vector of fixtures/rounding.json', () => {
  const { vectors } = JSON.parse(require('fs').readFileSync(require('path').resolve(__dirname, '../../fixtures/rounding.json'), 'utf8'));
  assert.ok(vectors.length >= 10, `${vectors.length} vectors`);
  const { buildMosTaskAttributes } = require(functionsMap()['mos-ledger'].path);
  for (const v of vectors) {
    assert.equal(round2(v.x), v.round2, `round2(${v.x})`);
    assert.equal(round2(v.x).toFixed(2), v.text, `text of ${v.x}`);
    if (v.x >= 1 && v.x <= 5) {
      const conv = buildMosTaskAttributes({ taskSid: 'WT' + 'a'.repeat(32), slot: 5, summary: { average: v.x, minimum: 1, poorShare: 0, samples: 1, source: 'sdk' } }).attributes.conversations;
      assert.equal(conv.conversation_attribute_5, v.text, `attribute of ${v.x}`);
      assert.equal(conv.conversation_measure_5, v.round2, `measure of ${v.x}`);
    }
  }
});
