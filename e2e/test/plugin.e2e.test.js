'use strict';
/**
 * End to end, all on loopback: the BUILT Flex plugin bundle
 * (js-shim/build/plugin-mos-score.js) loaded by a simulated Flex UI 2.x host
 * page in headless Debian Chromium, calling the Functions under the real
 * twilio-run, which call a fake Twilio loaded with a recorded-shape metrics
 * fixture.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const net = require('net');

const { startStack, summarise, ROOT } = require('../support/stack');
const { launch, openHost } = require('../support/browser');

const BUNDLE = path.join(ROOT, 'js-shim', 'build', 'plugin-mos-score.js');
const BUILD_INFO = path.join(ROOT, 'js-shim', 'src', 'generated', 'build-info.json');
const DELAY_S = 1;

let stack;
let browser;

test.before(async () => {
  assert.ok(fs.existsSync(BUNDLE), `no plugin bundle at ${BUNDLE}: run scripts/build-bundle.sh (or e2e/run.sh)`);
  stack = await startStack({ fixture: 'call_360.json', bundlePath: BUNDLE });
  browser = await launch();
});

test.after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.close();
});

function pageConfig(mosScore, extra) {
  return { token: stack.token, title: 'Flex', mosScore: { delaySeconds: DELAY_S, logLevel: 'debug', ...mosScore }, ...(extra || {}) };
}

/** Opens a fresh browser context (fresh localStorage) on the host page. */
async function open(mosScore, extra) {
  const h = await openHost(browser, stack.host.pageUrl(pageConfig(mosScore, extra)));
  assert.equal(h.ready, true, 'the host page loaded the plugin bundle');
  return h;
}

const routeCount = (route) => stack.fake.requests.filter((r) => r.route === route);
const mosLines = (seen) => seen.console.filter((c) => c.text.startsWith('[mos-score]'));

async function assertNoPageErrors(h) {
  const hostErrors = await h.page.evaluate(() => window.FlexHost.errors.slice());
  assert.deepEqual(h.seen.pageErrors, [], 'no uncaught exception in the page');
  assert.deepEqual(hostErrors, [], 'no page error or unhandled rejection recorded by the host');
}

function assertTokenNeverLogged(h) {
  for (const c of h.seen.console) assert.ok(!c.text.includes(stack.token), `the Flex token leaked into a log line: ${c.text}`);
}

function freeClosedPort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

test('voice task: wrap-up links the conversation and writes the call MOS into one MOS task', async () => {
  stack.fake.resetRequests();
  const h = await open({ functionsBaseUrl: stack.functionsBaseUrl });
  try {
    assert.equal(await h.page.evaluate(() => window.FlexHost.listenerCount('taskWrapup')), 1, 'exactly one taskWrapup listener');
    const task = stack.voiceTask();
    const before = JSON.parse(JSON.stringify(task.attributes));
    await h.page.evaluate((t) => {
      window.FlexHost.addTask(t);
      window.FlexHost.wrapup(t.taskSid);
    }, task);

    // The MOS task is created, then cancelled by the Function ("ended").
    const deadline = Date.now() + DELAY_S * 1000 + 20000;
    let mosTask = null;
    while (Date.now() < deadline) {
      mosTask = [...stack.fake.tasks.values()].find((t) => {
        try {
          return JSON.parse(t.attributes).conversations.conversation_id === task.taskSid && t.assignment_status === 'canceled';
        } catch (e) {
          return false;
        }
      });
      if (mosTask) break;
      // Fail fast on a definitive error from the plugin about this task.
      if (h.seen.console.some((m) => m.type === 'error' && m.text.startsWith('[mos-score]') && m.text.includes(task.taskSid))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(mosTask, `a cancelled MOS task for ${task.taskSid} within the delay + 20 s; plugin said:\n${mosLines(h.seen).map((c) => c.text).join('\n')}`);
    // Let anything late (a duplicate) show up before counting.
    await new Promise((r) => setTimeout(r, 1500));

    // 1. The original task was linked, every other key kept.
    const attrs = await h.page.evaluate((sid) => window.FlexHost.tasks.get(sid).attributes, task.taskSid);
    assert.equal(attrs.conversations.conversation_id, task.taskSid, 'conversation_id = taskSid (not the reservation sid)');
    for (const [k, v] of Object.entries(before.conversations)) assert.equal(attrs.conversations[k], v, `conversations.${k} kept`);
    for (const k of Object.keys(before)) if (k !== 'conversations') assert.deepEqual(attrs[k], before[k], `attribute ${k} kept`);
    const setCalls = await h.page.evaluate(() => window.FlexHost.timeline.filter((e) => e.kind === 'setAttributes').length);
    assert.equal(setCalls, 1, 'one setAttributes call on the original task');

    // 2. One metrics query, on the worker leg, with Edge=sdk_edge.
    const metrics = routeCount('metrics');
    assert.equal(metrics.length, 1, 'exactly one Voice Insights metrics request');
    assert.equal(metrics[0].query.Edge, 'sdk_edge');
    assert.ok(metrics[0].path.includes(stack.call.callSid), 'metrics of the worker leg');

    // 3. Exactly one MOS task, ended, with the independently computed average.
    assert.equal(routeCount('createTask').length, 1, 'exactly one CreateTask');
    const created = [...stack.fake.tasks.values()].filter((t) => {
      try {
        return JSON.parse(t.attributes).conversations.conversation_id === task.taskSid;
      } catch (e) {
        return false;
      }
    });
    assert.equal(created.length, 1, 'exactly one MOS task for the original task');
    const mosAttrs = JSON.parse(mosTask.attributes);
    const expected = summarise(stack.call.items);
    assert.equal(expected.average, stack.call.expected.summary.average, 'fixture summary agrees with expected.json');
    assert.equal(mosAttrs.conversations.conversation_attribute_5, expected.average.toFixed(2));
    assert.equal(Number(mosAttrs.conversations.conversation_measure_5), expected.average);
    assert.equal(mosAttrs.conversations.virtual, 'Yes');
    assert.equal(mosAttrs.conversations.channel, 'mos_score');
    for (const [k, v] of Object.entries(before.conversations)) assert.equal(mosAttrs.conversations[k], v, `MOS task keeps conversations.${k}`);
    assert.equal(mosAttrs.mos_score.samples, expected.samples);
    assert.equal(mosTask.assignment_status, 'canceled');

    // 4. The plugin's HTTP was form-encoded POSTs carrying the token; nothing went wrong in the page.
    const fetches = await h.page.evaluate(() => window.FlexHost.fetches.map((f) => ({ path: f.path, method: f.method, ct: f.contentType, status: f.status, fields: f.fields })));
    assert.deepEqual(fetches.map((f) => [f.method, f.path, f.status]), [
      ['POST', '/get_mos_score', 200],
      ['POST', '/create_mos_score_task', 200],
    ]);
    for (const f of fetches) {
      assert.match(String(f.ct), /application\/x-www-form-urlencoded/);
      assert.equal(f.fields.Token, '•••', 'Token sent');
    }
    assert.equal(fetches[0].fields.CallSid, stack.call.callSid);
    assert.equal(fetches[1].fields.OriginalTaskSid, task.taskSid);
    assert.ok(mosLines(h.seen).some((c) => c.text.includes(mosTask.sid)), 'the created MOS task SID is logged');
    await assertNoPageErrors(h);
    assertTokenNeverLogged(h);
  } finally {
    await h.context.close();
  }
});

test('chat task: nothing happens (no request, no attribute change, no error)', async () => {
  stack.fake.resetRequests();
  const tasksBefore = stack.fake.tasks.size;
  const h = await open({ functionsBaseUrl: stack.functionsBaseUrl });
  try {
    const task = stack.chatTask();
    await h.page.evaluate((t) => {
      window.FlexHost.addTask(t);
      window.FlexHost.wrapup(t.taskSid);
    }, task);
    await new Promise((r) => setTimeout(r, DELAY_S * 1000 + 1500));
    const seen = await h.page.evaluate((sid) => ({
      fetches: window.FlexHost.fetches.length,
      setAttributes: window.FlexHost.timeline.filter((e) => e.kind === 'setAttributes').length,
      attributes: window.FlexHost.tasks.get(sid).attributes,
    }), task.taskSid);
    assert.equal(seen.fetches, 0, 'no request from the page');
    assert.equal(seen.setAttributes, 0, 'the chat task is left alone');
    assert.deepEqual(seen.attributes, task.attributes);
    assert.equal(stack.fake.requests.length, 0, 'Twilio saw nothing');
    assert.equal(stack.fake.tasks.size, tasksBefore, 'no task created');
    await assertNoPageErrors(h);
  } finally {
    await h.context.close();
  }
});

test('backend down: a clear log naming the task, nothing created, no page error', async () => {
  stack.fake.resetRequests();
  const tasksBefore = stack.fake.tasks.size;
  const port = await freeClosedPort();
  const h = await open({ functionsBaseUrl: `http://localhost:${port}`, deadlineSeconds: 2 });
  try {
    const task = stack.voiceTask();
    await h.page.evaluate((t) => {
      window.FlexHost.addTask(t);
      window.FlexHost.wrapup(t.taskSid);
    }, task);
    const deadline = Date.now() + DELAY_S * 1000 + 15000;
    const failed = () => mosLines(h.seen).filter((c) => (c.type === 'error' || c.type === 'warning') && c.text.includes(task.taskSid));
    while (Date.now() < deadline && failed().length === 0) await new Promise((r) => setTimeout(r, 100));
    assert.ok(failed().length > 0, `a [mos-score] warning/error naming ${task.taskSid}; saw:\n${mosLines(h.seen).map((c) => `${c.type} ${c.text}`).join('\n')}`);
    // Give the retries until the (short) deadline, then check nothing was created.
    await new Promise((r) => setTimeout(r, 3000));
    const attrs = await h.page.evaluate((sid) => window.FlexHost.tasks.get(sid).attributes, task.taskSid);
    assert.equal(attrs.conversations.conversation_id, task.taskSid, 'the link is still written (it needs no backend)');
    assert.equal(routeCount('createTask').length, 0, 'no MOS task');
    assert.equal(stack.fake.tasks.size, tasksBefore);
    await assertNoPageErrors(h);
  } finally {
    await h.context.close();
  }
});

test('no functionsBaseUrl in custom_data: the build-time FLEX_APP_FUNCTIONS_BASE_URL is used', async (t) => {
  if (!fs.existsSync(BUILD_INFO)) return t.skip('no build-info.json (bundle not built by scripts/build-bundle.sh)');
  const baked = JSON.parse(fs.readFileSync(BUILD_INFO, 'utf8')).functionsBaseUrl;
  assert.ok(baked, 'the build baked a Functions URL in');
  stack.fake.resetRequests();
  const h = await openHostRouted(baked);
  try {
    const task = stack.voiceTask();
    await h.page.evaluate((tk) => {
      window.FlexHost.addTask(tk);
      window.FlexHost.wrapup(tk.taskSid);
    }, task);
    const deadline = Date.now() + DELAY_S * 1000 + 20000;
    const routed = () => h.routed.filter((u) => u.endsWith('/get_mos_score'));
    while (Date.now() < deadline && routed().length === 0) await new Promise((r) => setTimeout(r, 100));
    assert.ok(routed().length >= 1, `get_mos_score was called on the baked-in URL ${baked}`);
    assert.ok(routed()[0].startsWith(baked.replace(/\/$/, '')), routed()[0]);
    // ...and the whole flow completes through it. The voice fixture's task SID
    // is the one the first test already wrote a MOS task for, so the idempotent
    // Function must answer with that task instead of creating a second one.
    const creates = () => h.routed.filter((u) => u.endsWith('/create_mos_score_task'));
    while (Date.now() < deadline && creates().length === 0) await new Promise((r) => setTimeout(r, 100));
    assert.equal(creates().length, 1, 'create_mos_score_task called once via the baked-in URL');
    const mosTasks = () => [...stack.fake.tasks.values()].filter((t) => {
      try {
        return JSON.parse(t.attributes).mos_score_for === task.taskSid;
      } catch (e) {
        return false;
      }
    });
    while (Date.now() < deadline && !mosLines(h.seen).some((c) => c.text.includes('written, MOS'))) await new Promise((r) => setTimeout(r, 100));
    assert.equal(mosTasks().length, 1, 'still exactly one MOS task for the original task');
    await assertNoPageErrors(h);
  } finally {
    await h.page.unrouteAll({ behavior: 'ignoreErrors' });
    await h.context.close();
  }
});

/** Host page without functionsBaseUrl; requests to `baked` are forwarded to the local twilio-run. */
async function openHostRouted(baked) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const seen = { console: [], pageErrors: [] };
  const routed = [];
  page.on('console', (m) => seen.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => seen.pageErrors.push(String(e && e.message)));
  const base = baked.replace(/\/$/, '');
  await page.route((url) => url.href.startsWith(`${base}/`), async (route) => {
    const url = route.request().url();
    routed.push(url);
    const target = stack.fns.url + url.slice(base.length);
    const response = await route.fetch({ url: target });
    await route.fulfill({ response });
  });
  await page.goto(stack.host.pageUrl({ token: stack.token, mosScore: { delaySeconds: DELAY_S, logLevel: 'debug' } }));
  const ready = await page.evaluate(() => window.FlexHost.ready);
  assert.equal(ready, true);
  return { context, page, seen, routed };
}
