'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { countRequests, line } = require('./support/count-requests');

test('figures: requests for 60 / 360 / 1,440 sdk samples vs all edges at PageSize 50', async () => {
  const rows = await countRequests({ sizes: [60, 360, 1440], runs: 3 });
  const got = rows.map(({ samples, requests, baselineRequests, tokenValidations }) => ({ samples, requests, baselineRequests, tokenValidations }));
  assert.deepEqual(got, [
    { samples: 60, requests: 1, baselineRequests: 4, tokenValidations: 1 }, // 180 items / 50
    { samples: 360, requests: 1, baselineRequests: 22, tokenValidations: 1 }, // 1080 / 50
    { samples: 1440, requests: 2, baselineRequests: 87, tokenValidations: 1 }, // 4320 / 50; 1440 / 1000
  ]);
  for (const r of rows) {
    assert.ok(r.handlerMs > 0 && r.handlerMs < 2000, `${r.samples}: ${r.handlerMs} ms`);
    console.log(line(r));
  }
  assert.match(line(rows[2]), /^backend: 1440 samples: 2 requests \(baseline all-edges pagesize 50: 87 requests\), handler \d+\.\d ms$/);
});
