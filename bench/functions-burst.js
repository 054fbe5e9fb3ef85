#!/usr/bin/env node
'use strict';
/**
 * Bursts against the two Functions (issue 10), in one Node process with the
 * real `twilio` client and the real twilio-flex-token-validator, Twilio faked
 * on loopback with a fixed latency on every answer (IAM, Insights,
 * TaskRouter, Sync):
 *   1. BURST_CREATES (200) concurrent create_mos_score_task for ONE original
 *      task: how many MOS tasks were created (must be 1), answers by status,
 *      Twilio requests by route, p50/p95/max time;
 *   2. BURST_GETS (200) concurrent get_mos_score (same worker, one task and
 *      call each): p50/p95/max time, answers by status (no 5xx expected).
 *
 *   node bench/functions-burst.js            # BURST_LATENCY_MS=150 BURST_CREATES=200 BURST_GETS=200
 *   node bench/functions-burst.js --twilio-run   # also the creates burst over HTTP against the real
 *                                                # twilio-run, which forks one Node process per request
 *
 * Prints `bench: functions burst …` lines; exits non-zero only when a
 * measurement failed or its correctness condition (1 task, no 5xx) did not hold.
 */
const path = require('path');

const SUPPORT = path.resolve(__dirname, '../functions/test/support');
const { invoke, withFake, readFixture, VALID_TOKEN, TASK } = require(path.join(SUPPORT, 'harness.js'));
const { DEFAULTS, startFakeTwilio } = require(path.join(SUPPORT, 'fake-twilio.js'));
const { startFunctions } = require(path.join(SUPPORT, 'run-functions.js'));

const LATENCY = Number(process.env.BURST_LATENCY_MS || 150);
const CREATES = Number(process.env.BURST_CREATES || 200);
const GETS = Number(process.env.BURST_GETS || 200);

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const ms = (x) => `${Math.round(x)} ms`;
const tally = (xs) => Object.entries(xs.reduce((a, x) => ((a[x] = (a[x] || 0) + 1), a), {})).map(([k, n]) => `${k}×${n}`).join(' ');

async function creates() {
  const expected = readFixture('expected.json')['call_360.json'];
  const w = await withFake({ latencyMs: LATENCY, metricsByCall: { [expected.callSid]: readFixture('call_360.json') } });
  try {
    const got = await invoke('get_mos_score', { env: w.env, event: { Token: VALID_TOKEN, TaskSid: TASK, CallSid: expected.callSid } });
    if (got.status !== 200) throw new Error(`get_mos_score answered ${got.status}`);
    const s = got.body;
    const event = {
      Token: VALID_TOKEN, TaskSid: TASK, CallSid: expected.callSid, AttributeSlot: '5', Average: String(s.average), Minimum: String(s.minimum),
      PoorShare: String(s.poorShare), Samples: String(s.samples), Source: 'voice-insights', Proof: s.proof,
    };
    w.fake.resetRequests();
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: CREATES }, () => invoke('create_mos_score_task', { env: w.env, event })));
    const wall = Date.now() - started;
    const times = answers.map((a) => a.ms);
    const statuses = answers.map((a) => (a.status === 200 ? `200/${a.body.created ? 'created' : 'existing'}` : `${a.status}/${a.body.error.code}`));
    const sids = new Set(answers.filter((a) => a.status === 200).map((a) => a.body.sid));
    const tasks = w.fake.tasks.size;
    console.log(`bench: functions burst creates: ${CREATES} concurrent for one task, ${LATENCY} ms Twilio latency: ${tasks} MOS task${tasks === 1 ? '' : 's'} created, answers ${tally(statuses)}, ${sids.size} distinct sid, p50 ${ms(pct(times, 50))}, p95 ${ms(pct(times, 95))}, max ${ms(Math.max(...times))}, wall ${ms(wall)}`);
    console.log(`bench: functions burst creates: Twilio requests ${w.fake.requests.length} (${tally(w.fake.requests.map((r) => r.route))}), ${(w.fake.requests.length / CREATES).toFixed(1)} per request`);
    return tasks === 1 && answers.every((a) => a.status === 200 || (a.status === 503 && a.body.error.code === 'in_progress'));
  } finally {
    await w.close();
  }
}

async function gets() {
  const calls = {};
  const handled = [];
  const base = readFixture('call_360.json');
  for (let i = 0; i < GETS; i += 1) {
    const hex = i.toString(16).padStart(32, '0');
    calls[`CA${hex}`] = base.map((m) => ({ ...m, call_sid: `CA${hex}` }));
    handled.push({ workerSid: DEFAULTS.workerSid, taskSid: `WT${hex}` });
  }
  const w = await withFake({ latencyMs: LATENCY, metricsByCall: calls, handled });
  try {
    const started = Date.now();
    const answers = await Promise.all(Object.keys(calls).map((callSid) => invoke('get_mos_score', {
      env: w.env, event: { Token: VALID_TOKEN, TaskSid: `WT${callSid.slice(2)}`, CallSid: callSid },
    })));
    const wall = Date.now() - started;
    const times = answers.map((a) => a.ms);
    const fivexx = answers.filter((a) => a.status >= 500).length;
    console.log(`bench: functions burst gets: ${GETS} concurrent get_mos_score, ${LATENCY} ms Twilio latency: answers ${tally(answers.map((a) => a.status))}, ${fivexx} 5xx, p50 ${ms(pct(times, 50))}, p95 ${ms(pct(times, 95))}, max ${ms(Math.max(...times))}, wall ${ms(wall)}; Twilio requests per call ${(w.fake.requests.length / GETS).toFixed(1)} (IAM, reservations, metrics)`);
    return fivexx === 0 && answers.every((a) => a.status === 200);
  } finally {
    await w.close();
  }
}

async function createsOverTwilioRun() {
  const fake = await startFakeTwilio({ latencyMs: LATENCY, handled: [{ workerSid: DEFAULTS.workerSid, taskSid: TASK }] });
  const fns = await startFunctions({ twilioUrl: fake.url });
  try {
    const body = new URLSearchParams({ Token: VALID_TOKEN, TaskSid: TASK, CallSid: 'CA' + 'a'.repeat(32), Average: '4.2', Minimum: '3.1', PoorShare: '0.1', Samples: '9', Source: 'sdk' }).toString();
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: CREATES }, async () => {
      const t0 = Date.now();
      const res = await fetch(`${fns.url}/create_mos_score_task`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
      const json = await res.json().catch(() => null);
      return { ms: Date.now() - t0, label: !json ? `${res.status}/not-json` : res.status === 200 ? `200/${json.created ? 'created' : 'existing'}` : `${res.status}/${json.error.code}` };
    }));
    const wall = Date.now() - started;
    const times = answers.map((a) => a.ms);
    console.log(`bench: functions burst creates (twilio-run): ${CREATES} concurrent for one task, ${LATENCY} ms Twilio latency: ${fake.tasks.size} MOS task${fake.tasks.size === 1 ? '' : 's'} created, answers ${tally(answers.map((a) => a.label))}, p50 ${ms(pct(times, 50))}, p95 ${ms(pct(times, 95))}, wall ${ms(wall)}`);
    return fake.tasks.size === 1 && answers.every((a) => !a.label.endsWith('not-json'));
  } finally {
    await fns.close();
    await fake.close();
  }
}

// `node --test` must never pick this up as a test file (it is not under a test/ folder anyway).
if (require.main === module) {
  (async () => {
    const ok = [await creates(), await gets()];
    if (process.argv.includes('--twilio-run')) ok.push(await createsOverTwilioRun());
    if (!ok.every(Boolean)) {
      console.error('bench: functions burst: a correctness condition failed (more than 1 task, or a 5xx)');
      process.exit(1);
    }
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
