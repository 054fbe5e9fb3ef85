#!/usr/bin/env node
'use strict';
/**
 * `MODE=server make demo` (scripts/demo-server.sh): server mode with no
 * browser. A fake Twilio and the real Functions under twilio-run on loopback;
 * an agent's voice task wraps up; Event Streams' two signed deliveries (the
 * TaskRouter task.wrapup and the Voice Insights call-summary
 * predicted-complete) are POSTed to /mos_events, each twice (Event Streams
 * delivers at least once). Prints a timeline, the MOS summary and the
 * attributes written, and exits 0 only if exactly one MOS task was created
 * and cancelled with the expected MOS.
 *
 * Env: MOS_DEMO_ORDER=summary-first posts the summary before the task event.
 */
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const FUNCTIONS = path.join(ROOT, 'functions');
const { startFakeTwilio } = require(path.join(FUNCTIONS, 'test/support/fake-twilio'));
const { startFunctions, freePort } = require(path.join(FUNCTIONS, 'test/support/run-functions'));
const { cloudEvents, signedDelivery, post } = require(path.join(FUNCTIONS, 'test/support/event-streams'));
const { summarise } = require(path.join(FUNCTIONS, 'functions/mos-summary.private'));
const { install } = require(path.join(FUNCTIONS, 'test/support/redirect-twilio'));
const twilio = require(path.join(FUNCTIONS, 'node_modules/twilio'));

const SYNC_SERVICE_SID = 'IS' + 'd4'.repeat(16);
const ORDER = process.env.MOS_DEMO_ORDER === 'summary-first' ? 'summary-first' : 'task-first';
const c = process.stdout.isTTY && !process.env.NO_COLOR
  ? { b: (s) => `\x1b[1m${s}\x1b[0m`, dim: (s) => `\x1b[2m${s}\x1b[0m`, g: (s) => `\x1b[32m${s}\x1b[0m`, r: (s) => `\x1b[31m${s}\x1b[0m`, y: (s) => `\x1b[33m${s}\x1b[0m` }
  : { b: String, dim: String, g: String, r: String, y: String };
const say = (s = '') => process.stdout.write(`${s}\n`);
const indent = (s, n) => s.split('\n').map((l) => ' '.repeat(n) + l).join('\n');


async function main() {
  say(c.b('plugin-mos-score demo, server mode') + c.dim(' — no browser: Event Streams tells the mos_events Function; it writes the MOS task'));
  say();
  const metrics = require(path.join(ROOT, 'fixtures/metrics/call_60.json'));
  const items = Array.isArray(metrics) ? metrics : metrics.items;
  const callSid = items[0].call_sid;
  const fake = await startFakeTwilio({ metricsByCall: { [callSid]: items } });
  const undo = install(fake.url); // this process plays Flex creating the original task
  const port = await freePort();
  const sink = `http://127.0.0.1:${port}/mos_events`;
  let fns;
  const t0 = Date.now();
  const timeline = [];
  const mark = (kind, text, at = Date.now()) => timeline.push({ t: at - t0, kind, text });
  try {
    fns = await startFunctions({ twilioUrl: fake.url, port, env: { SYNC_SERVICE_SID, MOS_EVENTS_URL: sink } });
    mark('SETUP', `fake Twilio ${fake.url}, Functions (twilio-run) ${fns.url}`);

    // The agent's call: the original voice task, as Flex created it, now wrapping up.
    const tasks = twilio(fake.config.accountSid, fake.config.authToken).taskrouter.v1.workspaces(fake.config.workspaceSid).tasks;
    const attrs = JSON.parse(cloudEvents.task().data.payload.task_attributes);
    attrs.conference.participants.worker = callSid;
    const original = await tasks.create({ workflowSid: fake.config.workflowSid, taskChannel: 'voice', attributes: JSON.stringify(attrs) });
    mark('TASK', `original voice task ${original.sid}, agent leg ${callSid}`);
    const before = JSON.parse(fake.tasks.get(original.sid).attributes);
    fake.resetRequests();

    const taskEvent = cloudEvents.task({ id: 'EV' + 'a1'.repeat(16), taskSid: original.sid, workerLeg: callSid });
    const summaryEvent = cloudEvents.summary({ id: 'EV' + 'b2'.repeat(16), callSid });
    const order = ORDER === 'summary-first' ? [summaryEvent, taskEvent] : [taskEvent, summaryEvent];
    for (const ce of order) {
      for (const attempt of ['', ' (delivered again)']) {
        const d = signedDelivery([ce], { sinkUrl: sink, authToken: fake.config.authToken });
        mark('EVENT', `${ce.type}${attempt}  id ${ce.id}`);
        const seen = fake.requests.length;
        const res = await post(`${fns.url}/mos_events`, d);
        for (const r of fake.requests.slice(seen)) mark('TWILIO', `${r.method.padEnd(4)} ${r.route.padEnd(17)} ${r.status}  ${r.path}`, r.at);
        mark(res.status === 200 ? 'HTTP ←' : 'ERROR', `${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    // And one forged delivery: signed with the wrong token.
    const forged = signedDelivery([summaryEvent], { sinkUrl: sink, authToken: 'not-the-auth-token' });
    const seenBefore = fake.requests.length;
    const forgedRes = await post(`${fns.url}/mos_events`, forged);
    mark(forgedRes.status === 403 ? 'HTTP ←' : 'ERROR', `forged delivery: ${forgedRes.status} ${JSON.stringify(forgedRes.body)} (${fake.requests.length - seenBefore} Twilio calls)`);

    timeline.sort((a, b) => a.t - b.t);
    say(c.b('Timeline') + c.dim(`  (${ORDER}; + is time since the servers were up; Twilio lines at the fake's answer)`));
    for (const e of timeline) say(`  ${c.dim(`+${(e.t / 1000).toFixed(3)}s`.padStart(9))}  ${(e.kind === 'EVENT' ? c.y : e.kind === 'ERROR' ? c.r : String)(e.kind.padEnd(7))} ${e.text}`);

    const mosTasks = [...fake.tasks.values()].filter((t) => t.task_channel_unique_name === 'mos_score');
    const expected = summarise(items);
    say();
    say(c.b('MOS summary') + c.dim(`  (computed independently from the fixture: average ${expected.average.toFixed(2)}, ${expected.samples} samples)`));
    const mos = mosTasks[0] ? JSON.parse(mosTasks[0].attributes) : null;
    if (mos && mos.mos_score) {
      const s = mos.mos_score;
      say(`  average ${c.b(Number(s.average).toFixed(2))}   minimum ${Number(s.minimum).toFixed(2)}   below 3.5: ${(Number(s.poorShare) * 100).toFixed(0)}%   samples ${s.samples}   source ${s.source}`);
    } else say(c.r('  no MOS summary was written'));

    const after = JSON.parse(fake.tasks.get(original.sid).attributes);
    say();
    say(c.b('Attributes written'));
    say(`  original task ${original.sid} (linked by the server, If-Match), conversations:`);
    say(indent(JSON.stringify(after.conversations, null, 2), 4));
    const added = Object.keys(after.conversations || {}).filter((k) => !(k in (before.conversations || {})));
    say(c.dim(`    added: ${added.join(', ') || '(nothing)'}; kept: ${Object.keys(before.conversations || {}).join(', ')}`));
    for (const t of mosTasks) {
      const a = JSON.parse(t.attributes);
      say(`  MOS task ${c.b(t.sid)} in TaskRouter: ${t.assignment_status}${t.reason ? ` ("${t.reason}")` : ''}, channel ${t.task_channel_unique_name}`);
      say(indent(JSON.stringify({ conversations: a.conversations, mos_score: a.mos_score }, null, 2), 4));
    }

    const checks = [];
    const check = (name, pass) => checks.push({ name, pass: Boolean(pass) });
    const slot = mos && mos.conversations && (mos.conversations.conversation_attribute_5 || null);
    check('original task linked: conversations.conversation_id = its SID', after.conversations && after.conversations.conversation_id === original.sid);
    check('exactly one MOS task, created and cancelled (4 deliveries, each event twice)', mosTasks.length === 1 && mosTasks[0].assignment_status === 'canceled');
    check(`MOS task linked to the original task, conversation_attribute_5 = ${expected.average.toFixed(2)}`, mos && mos.conversations.conversation_id === original.sid && slot === expected.average.toFixed(2));
    check('forged delivery: 403 and no Twilio call', forgedRes.status === 403 && fake.requests.length === seenBefore);
    say();
    for (const x of checks) say(`  ${x.pass ? c.g('✓') : c.r('✗')} ${x.name}`);
    const ok = checks.every((x) => x.pass);
    say();
    say(ok ? c.g(c.b('demo OK')) : c.r(c.b('demo FAILED')));
    if (!ok && fns) say(c.dim(fns.logs().slice(-3000)));
    return ok;
  } finally {
    undo();
    if (fns) await fns.close();
    await fake.close();
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error(`demo failed: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);
