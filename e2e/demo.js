#!/usr/bin/env node
'use strict';
/**
 * The demo (scripts/demo.sh): one agent call wrap-up inside the REAL Flex UI
 * (@twilio/flex-ui 2.17.1, its own plugin loader, store and event emitter;
 * see e2e/flex/harness.js), with the plugin bundle built for the demo (its own
 * URL, into out/demo-bundle/, never js-shim/build/), the real Functions under
 * twilio-run and a fake Twilio, all on loopback. Prints a report and saves a
 * screenshot of the page's status panel.
 *
 * Env:
 *   DELAY          seconds the plugin waits after wrap-up (default 3; 100 is the product default)
 *   MOS_DEMO_OUT   screenshot path (default out/demo.png)
 * Exit: 0 only if the MOS task was created, cancelled and carries the expected MOS.
 */
const fs = require('fs');
const path = require('path');

const { startStack, mosTasksFor, ROOT } = require('./support/stack');
const { launch, isolatedContext, openFlex } = require('./support/browser');
const { ensurePluginBundle } = require('./support/bundle');

const DELAY = Number(process.env.DELAY || 3);
const OUT = path.resolve(ROOT, process.env.MOS_DEMO_OUT || 'out/demo.png');
const DEMO_URL = 'https://mos-score-demo.invalid';

const tty = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code) => (s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : String(s));
const c = { b: paint(1), dim: paint(2), g: paint(32), r: paint(31), y: paint(33), cy: paint(36) };
const say = (s = '') => process.stdout.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const indent = (s, n) => s.split('\n').map((l) => ' '.repeat(n) + l).join('\n');

async function main() {
  if (!Number.isFinite(DELAY) || DELAY < 0 || DELAY > 3600) throw new Error(`DELAY must be 0..3600 seconds, got ${process.env.DELAY}`);
  say(c.b('plugin-mos-score demo') + c.dim(' — a Flex agent wraps up a voice call; the plugin puts the call MOS into Flex Insights'));
  say();
  const { bundlePath, functionsBaseUrl: baked } = ensurePluginBundle({ outDir: path.join(ROOT, 'out', 'demo-bundle'), url: DEMO_URL });
  const stack = await startStack({ bundlePath });
  let browser;
  const onSignal = (sig) => {
    say(c.y(`\n${sig}: tearing down`));
    Promise.resolve(browser && browser.close().catch(() => {}))
      .then(() => stack.close())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const sc = stack.seedCall();
    const expected = stack.call.expected.summary;
    say(`  fake Twilio (Voice Insights, TaskRouter, IAM)  ${c.cy(stack.fake.url)}  ${c.dim(`metrics of the worker leg: ${stack.call.fixture}`)}`);
    say(`  Functions under the real twilio-run            ${c.cy(stack.functionsBaseUrl)}  ${c.dim(`(the bundle's ${baked} is routed here)`)}`);
    say(`  real Flex UI page (@twilio/flex-ui 2.17.1)     ${c.cy(stack.page.url)}  ${c.dim(`bundle ${path.relative(ROOT, bundlePath)} (${fs.statSync(bundlePath).size} bytes)`)}`);
    say(`  headless Chromium                              ${c.dim('/usr/bin/chromium')}`);
    say();

    browser = await launch();
    const ctx = await isolatedContext(browser, stack, { viewport: { width: 1200, height: 760 }, bakedUrl: baked });
    const config = {
      token: stack.agent.token,
      workerSid: stack.agent.workerSid,
      accountSid: stack.agent.accountSid,
      mosScore: { delaySeconds: DELAY, logLevel: 'info' },
      panel: true,
    };
    const t0 = Date.now();
    const { page, seen } = await openFlex(ctx, stack, config);
    const states = await page.evaluate(() => window.Harness.pluginStates);
    say(`${c.b('Flex loaded')} the plugin through its own loader: ${states.map((p) => `${p.name} ${p.state}`).join(', ')} ${c.dim(`(${Date.now() - t0} ms)`)}`);

    const original = JSON.parse(JSON.stringify(sc.task.attributes));
    await page.evaluate((t) => {
      window.Harness.addTask(t);
      window.Harness.accept(t.taskSid);
      window.Harness.wrapup(t.taskSid);
    }, sc.task);
    const wrapAt = Date.now();
    say(`${c.b('Wrap-up')} of ${sc.taskSid} ${c.dim(`(reservation ${sc.reservationSid}, worker leg ${sc.callSid})`)}; the plugin waits ${DELAY} s before asking Voice Insights…`);

    const limit = wrapAt + DELAY * 1000 + 30000;
    let mosTask;
    let lastTick = wrapAt;
    while (Date.now() < limit) {
      mosTask = mosTasksFor(stack.fake, sc.taskSid)[0];
      if (mosTask && mosTask.assignment_status === 'canceled') break;
      if (seen.console.some((m) => m.type === 'error' && m.text.startsWith('[mos-score]'))) break;
      if (DELAY >= 10 && Date.now() - lastTick > 10000) {
        lastTick = Date.now();
        say(c.dim(`  … ${Math.round((Date.now() - wrapAt) / 1000)} s`));
      }
      await sleep(100);
    }
    await sleep(800); // late duplicates would show up here

    // ------------------------------------------------------------ report
    const fetches = await page.evaluate(() => window.Harness.fetches);
    const errors = [...(await page.evaluate(() => window.Harness.errors)), ...seen.pageErrors];
    const linked = await page.evaluate((sid) => window.Harness.attributes(sid), sc.taskSid);
    const listeners = await page.evaluate(() => window.Harness.listenerCount('taskWrapup'));

    say();
    say(c.b('Plugin log') + c.dim('  (+ seconds since the wrap-up)'));
    for (const m of seen.console.filter((x) => x.text.startsWith('[mos-score]'))) {
      say(`  ${c.dim(`${((m.t - wrapAt) / 1000).toFixed(3)}s`.padStart(8))} ${m.type === 'error' ? c.r(m.type) : m.type.padEnd(7)} ${m.text}`);
    }
    say();
    say(c.b('HTTP from the page'));
    for (const f of fetches) {
      say(`  ${f.method} ${f.url.split('?')[0]} → ${f.status >= 200 && f.status < 300 ? c.g(f.status) : c.r(f.status || f.error)}  ${c.dim(new URLSearchParams(f.fields).toString().replace(/%E2%80%A2/g, '•'))}`);
      if (f.response) say(c.dim(indent(JSON.stringify(f.response), 6)));
    }
    say();
    say(c.b('Attributes written'));
    say(`  original task ${sc.taskSid} (setAttributes through the TaskRouterTask), conversations:`);
    say(indent(JSON.stringify(linked.conversations, null, 2), 4));
    if (mosTask) {
      const a = JSON.parse(mosTask.attributes);
      say(`  MOS task ${c.b(mosTask.sid)} in TaskRouter: ${mosTask.assignment_status}${mosTask.reason ? ` ("${mosTask.reason}")` : ''}`);
      say(indent(JSON.stringify({ conversations: a.conversations, mos_score: a.mos_score }, null, 2), 4));
    } else {
      say(c.r('  no MOS task was created'));
    }
    const reqs = stack.fake.requests.filter((r) => r.route !== 'validateToken');
    say();
    say(c.b('What Twilio saw') + c.dim(' (fake Twilio request log)'));
    for (const r of reqs) {
      const q = r.query && Object.keys(r.query).length ? `?${new URLSearchParams(r.query)}` : '';
      say(`  ${r.method.padEnd(4)} ${r.route.padEnd(10)} ${r.status}  ${c.dim(r.path + q)}`);
    }
    say(c.dim(`  + ${stack.fake.requests.length - reqs.length} Flex token validations (IAM); blocked in the page: ${ctx.blocked.length} asset requests of Flex and the Voice SDK`));

    // ------------------------------------------------------------ verdict
    const mosAttrs = mosTask ? JSON.parse(mosTask.attributes) : null;
    const checks = [
      ['Flex initialised the plugin', states.every((p) => p.state === 'Initialized')],
      ['one taskWrapup listener on manager.events', listeners === 1],
      ['original task linked: conversations.conversation_id = task SID', linked.conversations && linked.conversations.conversation_id === sc.taskSid],
      ['original conversation attributes kept', Object.entries(original.conversations).every(([k, v]) => linked.conversations[k] === v)],
      ['one metrics query, Edge=sdk_edge, on the worker leg', reqs.filter((r) => r.route === 'metrics').length === 1 && reqs.find((r) => r.route === 'metrics').query.Edge === 'sdk_edge'],
      ['exactly one MOS task, created and cancelled', reqs.filter((r) => r.route === 'createTask').length === 1 && mosTask && mosTask.assignment_status === 'canceled'],
      [`conversation_attribute_5 = ${expected.average.toFixed(2)} (fixtures/metrics/expected.json)`, mosAttrs && mosAttrs.conversations.conversation_attribute_5 === expected.average.toFixed(2)],
      ['no page error, no unhandled rejection', errors.length === 0],
    ].map(([name, pass]) => ({ name, pass: !!pass }));
    const ok = checks.every((x) => x.pass);

    await page.evaluate((rows) => window.Harness.panel(rows), [
      { k: 'plugin (Flex loader)', v: states.map((p) => `${p.name}: ${p.state}`).join(', '), ok: states.every((p) => p.state === 'Initialized') },
      { k: 'taskWrapup listeners', v: String(listeners) },
      { k: 'wrapped-up task', v: `${sc.taskSid} (worker leg ${sc.callSid})` },
      ...fetches.map((f) => ({ k: `${f.method} ${new URL(f.url).pathname}`, v: `${f.status || f.error} ${f.response ? JSON.stringify(f.response) : ''}`, ok: f.status >= 200 && f.status < 300 })),
      { k: 'original task conversations', v: JSON.stringify(linked.conversations) },
      { k: 'MOS task in TaskRouter', v: mosTask ? `${mosTask.sid} ${mosTask.assignment_status}: conversation_attribute_5 = ${mosAttrs.conversations.conversation_attribute_5}` : 'none', ok: !!mosTask },
      ...reqs.map((r) => ({ k: `Twilio: ${r.method} ${r.route}`, v: `${r.status} ${r.path}` })),
      ...checks.map((x) => ({ k: x.pass ? '✓' : '✗', v: x.name, ok: x.pass })),
      { k: 'verdict', v: ok ? `demo OK: MOS task ${mosTask.sid} recorded and cancelled` : 'demo FAILED (see terminal)', ok },
    ]);
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    await page.screenshot({ path: OUT, fullPage: true });

    say();
    for (const x of checks) say(`  ${x.pass ? c.g('✓') : c.r('✗')} ${x.name}`);
    errors.forEach((e) => say(c.r(`    page error: ${e}`)));
    say();
    say(`screenshot: ${path.relative(process.cwd(), OUT) || OUT}`);
    say(ok ? c.g(c.b('demo OK')) : c.r(c.b('demo FAILED')));
    return ok;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stack.close();
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error(`demo failed: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  }
);
