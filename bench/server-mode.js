#!/usr/bin/env node
'use strict';
/**
 * Server mode (issue 11) figures: the real mos_events handler in-process (as
 * twilio-run runs it: functions/test/support/harness.js), its Twilio traffic
 * sent to the fake Twilio on loopback, deliveries signed as Event Streams signs
 * them. Prints one `bench: server-mode …` line per figure.
 *
 *   node bench/server-mode.js
 *
 * 1. throughput: batches of 1, 10 and 100 events (task + summary pairs for
 *    distinct calls, so every pair writes one MOS task), no added latency;
 *    events per second = events / wall time of the deliveries, one delivery
 *    at a time.
 * 2. latency: the task event delivered first, then the summary event; time
 *    from posting the summary to its answer, by which the MOS task exists
 *    (the sink writes inside the request). Every Twilio call delayed 150 ms.
 * 3. Twilio API calls per MOS, by route, on the happy path and with each
 *    event delivered twice.
 *
 * Env: BENCH_SERVER_ROUNDS (throughput deliveries per batch size, default 20),
 *      BENCH_SERVER_CALLS (latency samples, default 40), BENCH_SERVER_LATENCY_MS (150).
 */
const path = require('path');

const FUNCTIONS = path.resolve(__dirname, '../functions');
const { invoke, withFake, readFixture } = require(path.join(FUNCTIONS, 'test/support/harness'));
const { cloudEvents, signedDelivery, runtimeEvent } = require(path.join(FUNCTIONS, 'test/support/event-streams'));

const env = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const ROUNDS = env('BENCH_SERVER_ROUNDS', 20);
const CALLS = env('BENCH_SERVER_CALLS', 40);
const LATENCY_MS = env('BENCH_SERVER_LATENCY_MS', 150);
const SINK = 'https://mos-score-functions-1234-dev.twil.io/mos_events';
const SYNC_SERVICE_SID = 'IS' + 'd4'.repeat(16);
const say = (line) => console.log(`bench: server-mode ${line}`);

const hex = (n, width = 32) => n.toString(16).padStart(width, '0');
let serial = 0;
/** A fresh original voice task in the fake and its two CloudEvents. */
async function pair(w, tasks, metrics) {
  serial += 1;
  const callSid = 'CA' + hex(0xca110000 + serial);
  w.fake.metricsByCall[callSid] = metrics;
  const attrs = JSON.parse(cloudEvents.task().data.payload.task_attributes);
  attrs.conference.participants.worker = callSid;
  const original = await tasks.create({ workflowSid: w.env.WORKFLOW_SID, taskChannel: 'voice', attributes: JSON.stringify(attrs) });
  return {
    callSid,
    taskSid: original.sid,
    task: cloudEvents.task({ id: 'EV' + hex(serial, 31) + 't', taskSid: original.sid, workerLeg: callSid }),
    summary: cloudEvents.summary({ id: 'EV' + hex(serial, 31) + 's', callSid }),
  };
}

async function deliver(w, batch, { allow503 = false } = {}) {
  const d = signedDelivery(batch, { sinkUrl: SINK, authToken: w.env.AUTH_TOKEN });
  const res = await invoke('mos_events', { env: { ...w.env, SYNC_SERVICE_SID, MOS_EVENTS_URL: SINK }, event: runtimeEvent(d), headers: d.headers });
  if (res.status !== 200 && !(allow503 && res.status === 503)) throw new Error(`mos_events answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main() {
  const metrics = readFixture('call_60.json').items || readFixture('call_60.json');
  const twilio = require(path.join(FUNCTIONS, 'node_modules/twilio'));

  // 1. throughput
  for (const size of [1, 10, 100]) {
    const w = await withFake({});
    try {
      const tasks = twilio(w.env.ACCOUNT_SID, w.env.AUTH_TOKEN).taskrouter.v1.workspaces(w.env.WORKSPACE_SID).tasks;
      // Pairs in order (task, summary, task, summary, ...), cut into deliveries of `size` events.
      const total = Math.max(2, size) * ROUNDS;
      const flat = [];
      while (flat.length < total) {
        const p = await pair(w, tasks, metrics);
        flat.push(p.task, p.summary);
      }
      const batches = [];
      for (let i = 0; i < flat.length; i += size) batches.push(flat.slice(i, i + size));
      w.fake.resetRequests();
      const started = process.hrtime.bigint();
      let written = 0;
      for (const b of batches) written += (await deliver(w, b)).body.written;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      say(`throughput batch=${String(size).padStart(3)}: ${(flat.length / (ms / 1000)).toFixed(0)} events/s (${flat.length} events in ${batches.length} deliveries, ${ms.toFixed(0)} ms, ${written} MOS tasks, ${(w.fake.requests.length / Math.max(1, written)).toFixed(1)} Twilio calls per MOS)`);
    } finally {
      await w.close();
    }
  }

  // 2. latency with LATENCY_MS per Twilio call
  {
    const w = await withFake({});
    try {
      const tasks = twilio(w.env.ACCOUNT_SID, w.env.AUTH_TOKEN).taskrouter.v1.workspaces(w.env.WORKSPACE_SID).tasks;
      const pairs = [];
      for (let i = 0; i < CALLS; i += 1) pairs.push(await pair(w, tasks, metrics));
      w.fake.addFailure({ route: '*', times: Infinity, delayMs: LATENCY_MS });
      const samples = [];
      let redelivered = 0;
      for (const p of pairs) {
        await deliver(w, [p.task]);
        const t0 = process.hrtime.bigint();
        // A 503 (the write did not fit) is delivered again at once; the time then includes it
        // (Event Streams' own retry delay comes on top, and is not documented).
        let res = await deliver(w, [p.summary], { allow503: true });
        while (res.status === 503) {
          redelivered += 1;
          res = await deliver(w, [p.summary], { allow503: true });
        }
        samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (res.body.written !== 1) throw new Error(`summary for ${p.callSid} wrote ${res.body.written} MOS tasks`);
      }
      samples.sort((a, b) => a - b);
      say(`latency summary event → MOS task, ${LATENCY_MS} ms per Twilio call: p50 ${pct(samples, 50).toFixed(0)} ms, p95 ${pct(samples, 95).toFixed(0)} ms, max ${samples[samples.length - 1].toFixed(0)} ms (${samples.length} calls, ${redelivered} answered 503 and delivered again; the sink's budget is 5000 ms)`);
    } finally {
      await w.close();
    }
  }

  // 2b. a batch of 100 (50 calls, both halves) with LATENCY_MS per Twilio call: what one delivery
  //     finishes inside the budget, and how many deliveries Event Streams needs for all of it
  {
    const w = await withFake({});
    try {
      const tasks = twilio(w.env.ACCOUNT_SID, w.env.AUTH_TOKEN).taskrouter.v1.workspaces(w.env.WORKSPACE_SID).tasks;
      const batch = [];
      for (let i = 0; i < 50; i += 1) {
        const p = await pair(w, tasks, metrics);
        batch.push(p.task, p.summary);
      }
      w.fake.addFailure({ route: '*', times: Infinity, delayMs: LATENCY_MS });
      const rounds = [];
      const made = () => [...w.fake.tasks.values()].filter((t) => t.task_channel_unique_name === 'mos_score').length;
      const began = Date.now();
      // Event Streams redelivers after a failure; a round that adds nothing waits 10 s before the next
      // (a ledger claim left mid-write is taken over after 60 s). Done = 50 MOS tasks at the fake.
      let before = 0;
      while (Date.now() - began < 150000) {
        const t0 = process.hrtime.bigint();
        const res = await deliver(w, batch, { allow503: true });
        const now = made();
        rounds.push(`${res.status}/${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms/+${now - before}`);
        if (res.status === 200) break;
        if (now === before) await new Promise((r) => setTimeout(r, 10000));
        before = now;
      }
      const secs = ((Date.now() - began) / 1000).toFixed(0);
      const total = made();
      say(`batch of 100 events (50 calls) at ${LATENCY_MS} ms per Twilio call: ${total} MOS tasks for 50 calls after ${rounds.length} deliveries in ${secs} s${total !== 50 || !rounds[rounds.length - 1].startsWith('200') ? ' (NOT finished)' : ''} [status/answer time/new MOS tasks: ${rounds.join(', ')}]`);
    } finally {
      await w.close();
    }
  }

  // 3. Twilio API calls per MOS
  for (const twice of [false, true]) {
    const w = await withFake({});
    try {
      const tasks = twilio(w.env.ACCOUNT_SID, w.env.AUTH_TOKEN).taskrouter.v1.workspaces(w.env.WORKSPACE_SID).tasks;
      const n = 10;
      const pairs = [];
      for (let i = 0; i < n; i += 1) pairs.push(await pair(w, tasks, metrics));
      w.fake.resetRequests();
      for (const p of pairs) {
        for (const half of [p.task, p.summary]) {
          await deliver(w, [half]);
          if (twice) await deliver(w, [half]);
        }
      }
      const byRoute = {};
      for (const r of w.fake.requests) byRoute[r.route] = (byRoute[r.route] || 0) + 1;
      const mosTasks = [...w.fake.tasks.values()].filter((t) => t.task_channel_unique_name === 'mos_score').length;
      const total = w.fake.requests.length;
      const detail = Object.entries(byRoute).map(([k, v]) => `${k} ${(v / n).toFixed(1)}`).join(', ');
      say(`Twilio calls per MOS${twice ? ' (every event delivered twice)' : ''}: ${(total / n).toFixed(1)} (${detail}); ${mosTasks} MOS tasks for ${n} calls`);
    } finally {
      await w.close();
    }
  }
}

main().catch((err) => {
  console.error(`bench: server-mode FAILED: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
