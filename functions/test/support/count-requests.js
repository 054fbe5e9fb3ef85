#!/usr/bin/env node
'use strict';
/**
 * Figures for get_mos_score: Twilio API requests per call length, counted by
 * the fake, versus the original sample's approach (list ALL edges with the
 * default PageSize 50), plus the in-process handler time.
 *
 *   node functions/test/support/count-requests.js          # human lines (--text forces this)
 *   node functions/test/support/count-requests.js --json   # one JSON array
 *
 *   const { countRequests } = require('functions/test/support/count-requests');
 *   await countRequests({ sizes: [60, 360, 1440], runs: 7 })
 *   // -> [{ samples, requests, baselineRequests, handlerMs, tokenValidations }]
 *
 * `requests` are Voice Insights requests made by get_mos_score;
 * `baselineRequests` are those of `client.insights.v1.calls(sid).metrics.list()`
 * (no Edge, no PageSize) with the same twilio client on the same data, where
 * each 10 s interval has 3 metric items (1 sdk_edge + 2 client_edge). Both
 * approaches also make 1 IAM token validation per invocation, and get_mos_score 1 TaskRouter
 * reservations look-up (the authorisation), not counted.
 * `handlerMs` is the median wall time of get_mos_score in this process
 * (token validation and loopback HTTP to the fake included; no internet latency).
 */
const twilio = require('twilio');
const { invoke, withFake, VALID_TOKEN, TASK } = require('./harness');
const { generateCall } = require('../../../fixtures/metrics/generate');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(samples, runs) {
  const { callSid, items } = generateCall({ sdkSamples: samples, seed: samples });
  const w = await withFake({ metricsByCall: { [callSid]: items } });
  try {
    const times = [];
    let requests = 0;
    let tokenValidations = 0;
    for (let i = 0; i < runs; i += 1) {
      w.fake.resetRequests();
      const res = await invoke('get_mos_score', { env: w.env, event: { Token: VALID_TOKEN, TaskSid: TASK, CallSid: callSid } });
      if (res.status !== 200) throw new Error(`get_mos_score answered ${res.status} ${JSON.stringify(res.body)}`);
      times.push(res.ms);
      requests = w.count('metrics');
      tokenValidations = w.count('validateToken');
    }
    w.fake.resetRequests();
    const client = twilio(w.env.ACCOUNT_SID, w.env.AUTH_TOKEN);
    const all = await client.insights.v1.calls(callSid).metrics.list();
    if (all.length !== items.length) throw new Error(`baseline listed ${all.length} of ${items.length} items`);
    const baselineRequests = w.count('metrics');
    // the first run pays for module loading; leave it out of the median when there are others
    const handlerMs = Math.round(median(runs > 1 ? times.slice(1) : times) * 10) / 10;
    return { samples, requests, baselineRequests, handlerMs, tokenValidations };
  } finally {
    await w.close();
  }
}

async function countRequests({ sizes = [60, 360, 1440], runs = 7 } = {}) {
  const out = [];
  for (const n of sizes) out.push(await measure(n, runs));
  return out;
}

function line(r) {
  return `backend: ${r.samples} samples: ${r.requests} request${r.requests === 1 ? '' : 's'} (baseline all-edges pagesize 50: ${r.baselineRequests} requests), handler ${r.handlerMs.toFixed(1)} ms`;
}

// `node --test test/` also runs every .js under test/ (this one included) as a test file, with
// NODE_TEST_CONTEXT set and no arguments; the CLI stays off then (pass an argument to force it).
if (require.main === module && (process.argv.length > 2 || !process.env.NODE_TEST_CONTEXT)) {
  countRequests()
    .then((rows) => {
      if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(rows) + '\n');
      else {
        for (const r of rows) console.log(line(r));
        console.log('backend: each invocation also makes 1 IAM token-validation request (and get_mos_score 1 TaskRouter reservations look-up), not counted above');
      }
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

module.exports = { countRequests, line };
