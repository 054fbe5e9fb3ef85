'use strict';
/**
 * Starts everything the plugin talks to, on loopback (OS-chosen ports), and
 * the page server of the real Flex UI harness:
 *
 *   const stack = await startStack({ bundlePath });
 *   stack.fake               // the fake Twilio (functions/test/support/fake-twilio.js)
 *   stack.fns                // the Functions under the real twilio-run
 *   stack.page               // the page server (stack.page.pageUrl(config))
 *   stack.functionsBaseUrl   // 'http://localhost:PORT'
 *   stack.agent              // { token, workerSid }: who is logged in to Flex
 *   stack.call               // { fixture, callSid, items, expected } (expected from fixtures/metrics/expected.json)
 *   stack.seedCall(spec)     // a new wrap-up: see below
 *   await stack.close();
 *
 * The agent's identity and what Twilio knows about a task live here only
 * (seedCall), so a change in what the Functions check is a change here.
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const SUPPORT = path.join(ROOT, 'functions', 'test', 'support');
const { startFakeTwilio, DEFAULTS, makeToken } = require(path.join(SUPPORT, 'fake-twilio.js'));
const { startFunctions } = require(path.join(SUPPORT, 'run-functions.js'));
const { startPageServer } = require('./server');

const FIXTURES = path.join(ROOT, 'fixtures');

/**
 * Who is logged in to Flex in every page: the token the fake's IAM accepts
 * (its worker is DEFAULTS.workerSid), the account, and a JWT-shaped token IAM
 * calls invalid (an expired session).
 */
const AGENT = { token: DEFAULTS.validTokens[0], workerSid: DEFAULTS.workerSid, accountSid: DEFAULTS.accountSid, expiredToken: makeToken('expired-flex-session') };

/** Tells the fake Twilio that AGENT handled the task (a reservation and its Events), as the Functions check (#10). */
function seedHandled(fake, taskSid) {
  fake.addHandled({ workerSid: AGENT.workerSid, taskSid });
}

function readJson(...parts) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, ...parts), 'utf8'));
}

/** A fixture's metrics and the summary fixtures/metrics/generate.js wrote for it (expected.json). */
function metricsFixture(file) {
  const items = readJson('metrics', file);
  const expected = readJson('metrics', 'expected.json')[file];
  if (!expected) throw new Error(`fixtures/metrics/expected.json has no entry for ${file}: run node fixtures/metrics/generate.js`);
  return { fixture: file, callSid: expected.callSid, items, expected };
}

let seq = 0;
/** Distinct SIDs per wrap-up, so scenarios never share a task, a reservation or a call. */
function sids(prefixHex) {
  seq += 1;
  const hex = (prefixHex + seq).toString(16).padStart(32, '0');
  return { taskSid: `WT${hex}`, reservationSid: `WR${hex}`, callSid: `CA${hex}`, customerCallSid: `CA${'c'.repeat(16)}${hex.slice(16)}` };
}

async function startStack(options = {}) {
  const call = metricsFixture(options.fixture || 'call_360.json');
  const started = [];
  const close = async () => {
    for (const s of started.reverse()) {
      try {
        await s.close();
      } catch (e) {
        /* best effort */
      }
    }
  };
  try {
    const fake = await startFakeTwilio({ host: '127.0.0.1', port: 0, metricsByCall: {}, validTokens: [AGENT.token] });
    started.push(fake);
    const page = await startPageServer({ bundlePath: options.bundlePath });
    started.push(page);
    const fns = await startFunctions({ twilioUrl: fake.url, env: { ALLOWED_ORIGIN: page.url, ...(options.functionsEnv || {}) } });
    started.push(fns);

    /**
     * A voice wrap-up of AGENT, known to Twilio: the worker leg's metrics (the
     * fixture's items re-keyed to the new call) served by the fake Twilio.
     * Returns the task for the page (Harness.addTask): fixtures/tasks/voice_wrapup.json
     * with new SIDs and its conference as raw TaskRouter legs.
     *   kind: 'voice' (default) | 'chat' | 'transfer' (the task came back to the
     *   same worker: an earlier worker leg of AGENT, `left`, on another call
     *   with other metrics, then the current leg on the reservation).
     *   handled: false = TaskRouter has no reservation of AGENT on the task.
     */
    function seedCall({ kind = 'voice', metrics = call.items, handled = true } = {}) {
      const s = sids(0xe2e00000);
      if (handled) seedHandled(fake, s.taskSid);
      if (kind === 'chat') {
        const chat = readJson('tasks', 'chat_wrapup.json');
        return { ...s, task: { taskSid: s.taskSid, reservationSid: s.reservationSid, taskChannelUniqueName: 'chat', attributes: chat.attributes } };
      }
      const fixture = readJson('tasks', 'voice_wrapup.json');
      const attributes = fixture.attributes;
      attributes.call_sid = s.customerCallSid;
      attributes.conference.participants = { customer: s.customerCallSid, worker: s.callSid };
      fake.metricsByCall[s.callSid] = metrics.map((i) => ({ ...i, call_sid: s.callSid }));
      const legs = [{ type: 'customer', callSid: s.customerCallSid, status: 'left' }];
      const out = { ...s };
      if (kind === 'transfer') {
        // The first time the task reached AGENT: another reservation, another call, other metrics.
        const earlier = sids(0xe2e80000);
        fake.metricsByCall[earlier.callSid] = metricsFixture('call_60.json').items.map((i) => ({ ...i, call_sid: earlier.callSid }));
        legs.push({ type: 'agent', callSid: earlier.callSid, workerSid: AGENT.workerSid, reservationSid: earlier.reservationSid, status: 'left' });
        out.earlierCallSid = earlier.callSid;
      }
      legs.push({ type: 'agent', callSid: s.callSid, workerSid: AGENT.workerSid, reservationSid: s.reservationSid, status: 'joined' });
      out.task = { taskSid: s.taskSid, reservationSid: s.reservationSid, taskChannelUniqueName: 'voice', queueName: fixture.queueName, attributes, legs };
      return out;
    }

    return {
      fake,
      fns,
      page,
      agent: AGENT,
      functionsBaseUrl: `http://localhost:${fns.port}`,
      call,
      seedCall,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The fake Twilio's MOS tasks for an original task (the Function's top-level mos_score_for). */
function mosTasksFor(fake, taskSid) {
  return [...fake.tasks.values()].filter((t) => {
    try {
      return JSON.parse(t.attributes).mos_score_for === taskSid;
    } catch (e) {
      return false;
    }
  });
}

module.exports = { startStack, mosTasksFor, ROOT };
