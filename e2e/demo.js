#!/usr/bin/env node
'use strict';
/**
 * The demo (scripts/demo.sh runs it after building the bundle): one realistic
 * agent call wrap-up through the real plugin bundle, the real Functions under
 * twilio-run and a fake Twilio, all on loopback; prints a report and saves a
 * screenshot of the host page.
 *
 * Env:
 *   DELAY          seconds the plugin waits after wrap-up (default 3; 100 is the product default)
 *   MOS_DEMO_TASK  path of an ITask JSON to wrap up instead of fixtures/tasks/voice_wrapup.json
 *   MOS_DEMO_OUT   screenshot path (default out/demo.png)
 * Exit: 0 only if the MOS task was created, cancelled and carries the expected MOS.
 */
const fs = require('fs');
const path = require('path');

const { startStack, summarise, ROOT } = require('./support/stack');
const { launch, openHost } = require('./support/browser');

const DELAY = Number(process.env.DELAY || 3);
const OUT = path.resolve(ROOT, process.env.MOS_DEMO_OUT || 'out/demo.png');
const BUNDLE = path.join(ROOT, 'js-shim', 'build', 'plugin-mos-score.js');

const c = process.stdout.isTTY && !process.env.NO_COLOR
  ? { b: (s) => `\x1b[1m${s}\x1b[0m`, dim: (s) => `\x1b[2m${s}\x1b[0m`, g: (s) => `\x1b[32m${s}\x1b[0m`, r: (s) => `\x1b[31m${s}\x1b[0m`, y: (s) => `\x1b[33m${s}\x1b[0m`, cy: (s) => `\x1b[36m${s}\x1b[0m` }
  : { b: String, dim: String, g: String, r: String, y: String, cy: String };
const say = (s = '') => process.stdout.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const KIND = {
  emit: 'EVENT', setAttributes: 'TASK', fetch: 'HTTP →', response: 'HTTP ←', console: 'LOG', 'page-error': 'ERROR',
  listener: 'FLEX', plugin: 'PLUGIN', load: 'PLUGIN', task: 'TASK', call: 'CALL', token: 'TOKEN', note: 'NOTE',
};

function loadTask(stack) {
  if (!process.env.MOS_DEMO_TASK) return stack.voiceTask();
  return JSON.parse(fs.readFileSync(path.resolve(process.env.MOS_DEMO_TASK), 'utf8'));
}

function mosTaskFor(fake, taskSid) {
  return [...fake.tasks.values()].find((t) => {
    try {
      return JSON.parse(t.attributes).conversations.conversation_id === taskSid;
    } catch (e) {
      return false;
    }
  });
}

async function main() {
  if (!fs.existsSync(BUNDLE)) throw new Error(`no plugin bundle at ${BUNDLE}: run scripts/build-bundle.sh`);
  if (!Number.isFinite(DELAY) || DELAY < 0 || DELAY > 3600) throw new Error(`DELAY must be 0..3600 seconds, got ${process.env.DELAY}`);
  const bundleBytes = fs.statSync(BUNDLE).size;

  say(c.b('plugin-mos-score demo') + c.dim(' — a Flex agent wraps up a voice call; the plugin puts the call MOS into Flex Insights'));
  say();
  const stack = await startStack({ fixture: 'call_360.json', bundlePath: BUNDLE });
  let browser;
  // Ctrl-C / kill: tear down twilio-run, the servers and Chromium before leaving.
  const onSignal = (sig) => {
    say(c.y(`\n${sig}: tearing down`));
    Promise.resolve(browser && browser.close().catch(() => {}))
      .then(() => stack.close())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ok = false;
  try {
    say(`  fake Twilio (Voice Insights, TaskRouter, IAM)  ${c.cy(stack.fake.url)}  ${c.dim(`metrics of ${stack.call.callSid}: ${stack.call.fixture}`)}`);
    say(`  Functions under the real twilio-run            ${c.cy(stack.functionsBaseUrl)}`);
    say(`  simulated Flex UI 2.x host page                ${c.cy(stack.host.url)}  ${c.dim(`bundle ${path.relative(ROOT, BUNDLE)} (${bundleBytes} bytes)`)}`);
    say(`  headless Chromium                              ${c.dim('/usr/bin/chromium')}`);
    say();

    browser = await launch();
    const config = {
      token: stack.token,
      title: 'Flex',
      mosScore: { functionsBaseUrl: stack.functionsBaseUrl, delaySeconds: DELAY, logLevel: 'info' },
    };
    const h = await openHost(browser, stack.host.pageUrl(config), { width: 1480, height: 720 });
    if (!h.ready) throw new Error('the host page could not load the plugin bundle');

    const task = loadTask(stack);
    const original = JSON.parse(JSON.stringify(task.attributes));
    const workerLeg = stack.call.callSid;
    const sdkMos = stack.call.items
      .filter((i) => i.edge === 'sdk_edge' && typeof (i.sdk_edge.interval.mos || {}).value === 'number')
      .map((i) => i.sdk_edge.interval.mos.value);

    // The agent takes the call (the Voice SDK reports per-second samples), then wraps up.
    await h.page.evaluate(
      ({ t, leg, mos }) => {
        const FH = window.FlexHost;
        FH.addTask({ ...t, status: 'assigned' });
        FH.playCall(leg, mos);
        FH.wrapup(t.taskSid);
      },
      { t: task, leg: workerLeg, mos: sdkMos },
    );
    const wrapAt = Date.now();
    say(`${c.b('Wrap-up')} of ${task.taskSid} ${c.dim(`(reservation ${task.sid}, worker leg ${workerLeg})`)}; the plugin waits ${DELAY} s before asking Voice Insights…`);

    const limit = wrapAt + DELAY * 1000 + 30000;
    let mosTask = null;
    let lastTick = wrapAt;
    while (Date.now() < limit) {
      mosTask = mosTaskFor(stack.fake, task.taskSid);
      if (mosTask && mosTask.assignment_status === 'canceled') break;
      const failed = h.seen.console.find((m) => m.type === 'error' && m.text.startsWith('[mos-score]'));
      if (failed && Date.now() - wrapAt > DELAY * 1000 + 3000) break;
      if (DELAY >= 10 && Date.now() - lastTick > 10000) {
        lastTick = Date.now();
        say(c.dim(`  … ${Math.round((Date.now() - wrapAt) / 1000)} s`));
      }
      await sleep(100);
    }
    await sleep(800); // let the page render the last responses, and late duplicates show up

    // ------------------------------------------------------------ report
    const timeline = await h.page.evaluate(() => window.FlexHost.timeline);
    const fetches = await h.page.evaluate(() => window.FlexHost.fetches);
    const errors = [...(await h.page.evaluate(() => window.FlexHost.errors)), ...h.seen.pageErrors];
    const linked = await h.page.evaluate((sid) => window.FlexHost.tasks.get(sid).attributes, task.taskSid);
    const t0 = timeline.length ? Date.parse(timeline[0].at) - timeline[0].t : Date.now();

    say();
    say(c.b('Timeline') + c.dim('  (page clock; + is time since the page started)'));
    for (const e of timeline) {
      if (e.kind === 'console' && !e.text.startsWith('[mos-score]')) continue;
      const wall = new Date(t0 + e.t).toISOString().slice(11, 23);
      let label = (KIND[e.kind] || e.kind).padEnd(7);
      if (e.kind === 'page-error') label = c.r(label);
      else if (e.kind === 'response') label = e.data && e.data.status >= 200 && e.data.status < 300 ? c.g(label) : c.r(label);
      else if (e.kind === 'emit') label = c.y(label);
      let text = e.text;
      if (e.kind === 'fetch' && e.data && e.data.fields) {
        const f = { ...e.data.fields };
        if (f.Attributes) f.Attributes = `{…${f.Attributes.length} chars}`;
        text += c.dim(`  ${new URLSearchParams(f).toString().replace(/%E2%80%A2/g, '•')}`);
      }
      if (e.kind === 'response' && e.data && e.data.response && typeof e.data.response === 'object') text += c.dim(`  ${JSON.stringify(e.data.response)}`);
      say(`  ${c.dim(wall)} ${c.dim(`+${(e.t / 1000).toFixed(3)}s`.padStart(9))}  ${label} ${text}`);
    }

    const score = fetches.find((f) => f.path.endsWith('/get_mos_score') && f.status === 200);
    const expected = summarise(stack.call.items);
    say();
    say(c.b('MOS summary') + c.dim(`  (from get_mos_score; computed independently from the fixture: average ${expected.average.toFixed(2)}, ${expected.samples} samples)`));
    if (score && score.response) {
      const s = score.response;
      say(`  average ${c.b(Number(s.average).toFixed(2))}   minimum ${Number(s.minimum).toFixed(2)}   below 3.5: ${(Number(s.poorShare) * 100).toFixed(0)}%   samples ${s.samples}   source ${s.source}`);
    } else {
      say(c.r('  no MOS summary was received'));
    }

    say();
    say(c.b('Attributes written'));
    say(`  original task ${task.taskSid} (setAttributes), conversations:`);
    say(indent(JSON.stringify(linked.conversations, null, 2), 4));
    const added = Object.keys(linked.conversations || {}).filter((k) => !(k in (original.conversations || {})));
    say(c.dim(`    added: ${added.join(', ') || '(nothing)'}; kept: ${Object.keys(original.conversations || {}).join(', ')}`));
    if (mosTask) {
      const a = JSON.parse(mosTask.attributes);
      say(`  MOS task ${c.b(mosTask.sid)} in TaskRouter: ${mosTask.assignment_status}${mosTask.reason ? ` ("${mosTask.reason}")` : ''}, channel ${mosTask.task_channel_unique_name || ''}`);
      say(indent(JSON.stringify({ conversations: a.conversations, mos_score: a.mos_score }, null, 2), 4));
    } else {
      say(c.r('  no MOS task was created'));
    }

    const reqs = stack.fake.requests.filter((r) => r.route !== 'validateToken');
    say();
    say(c.b('What Twilio saw') + c.dim(' (fake Twilio request log)'));
    for (const r of reqs) {
      const q = r.query && Object.keys(r.query).length ? `?${new URLSearchParams(r.query)}` : '';
      const b = r.body && r.body.AssignmentStatus ? `  AssignmentStatus=${r.body.AssignmentStatus} Reason="${r.body.Reason}"` : '';
      say(`  ${r.method.padEnd(4)} ${r.route.padEnd(10)} ${r.status}  ${c.dim(r.path + q)}${b}`);
    }
    say(c.dim(`  + ${stack.fake.requests.filter((r) => r.route === 'validateToken').length} Flex token validations (IAM)`));

    // ------------------------------------------------------------ verdict
    const checks = [];
    const check = (name, pass) => checks.push({ name, pass: !!pass });
    check('original task linked: conversations.conversation_id = taskSid', linked.conversations && linked.conversations.conversation_id === task.taskSid);
    check('one metrics query with Edge=sdk_edge', reqs.filter((r) => r.route === 'metrics').length === 1 && reqs.find((r) => r.route === 'metrics').query.Edge === 'sdk_edge');
    check('exactly one MOS task, created and cancelled', reqs.filter((r) => r.route === 'createTask').length === 1 && mosTask && mosTask.assignment_status === 'canceled');
    check(`conversation_attribute_5 = ${expected.average.toFixed(2)}`, mosTask && JSON.parse(mosTask.attributes).conversations.conversation_attribute_5 === expected.average.toFixed(2));
    check('no page error, no unhandled rejection', errors.length === 0);
    ok = checks.every((x) => x.pass);

    const WHAT = { metrics: 'Voice Insights: call metrics', listTasks: 'TaskRouter: find existing MOS task', createTask: 'TaskRouter: create MOS task', updateTask: 'TaskRouter: update task', fetchTask: 'TaskRouter: fetch task' };
    await h.page.evaluate((view) => window.FlexHost.setBackendView(view), {
      title: 'What Twilio saw (fake Twilio)',
      rows: reqs.map((r) => ({
        method: r.method,
        what: `${WHAT[r.route] || r.route}${r.query && r.query.Edge ? ` (Edge=${r.query.Edge})` : ''}${r.body && r.body.AssignmentStatus ? ` → ${r.body.AssignmentStatus}: "${r.body.Reason}"` : ''}`,
        status: r.status,
      })),
      note: `+ ${stack.fake.requests.filter((r) => r.route === 'validateToken').length} Flex token validations`,
    });
    await h.page.evaluate(
      ({ verdict }) => window.FlexHost.record('note', verdict),
      { verdict: ok ? `demo complete: MOS task ${mosTask.sid} recorded and cancelled in TaskRouter` : 'demo FAILED (see terminal)' },
    );
    await sleep(150);
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    await h.page.screenshot({ path: OUT, fullPage: true });

    say();
    for (const x of checks) say(`  ${x.pass ? c.g('✓') : c.r('✗')} ${x.name}`);
    if (errors.length) errors.forEach((e) => say(c.r(`    page error: ${e}`)));
    say();
    say(`screenshot: ${path.relative(process.cwd(), OUT) || OUT}`);
    say(ok ? c.g(c.b('demo OK')) : c.r(c.b('demo FAILED')));
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stack.close();
  }
  return ok;
}

function indent(s, n) {
  return s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error(`demo failed: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);
