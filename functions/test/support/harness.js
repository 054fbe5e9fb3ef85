'use strict';
/**
 * Runs the Functions in this process the way Twilio Serverless / twilio-run
 * does: globals `Twilio` (with twilio-run's own Response class) and `Runtime`
 * (getFunctions() keyed like twilio-run: path without extension and without
 * ".private"), a `context` built from env, an `event` carrying
 * `request.headers` as @twilio/runtime-handler builds it (default: a form
 * POST's Content-Type), and a callback. withFake() seeds "worker
 * DEFAULTS.workerSid handled TASK" unless given its own `handled`.
 *
 * The Twilio side is a fake on loopback: redirect-twilio.js swaps the https
 * transport for *.twilio.com, so the real `twilio` client and the real
 * twilio-flex-token-validator are used unchanged.
 */
const fs = require('fs');
const path = require('path');
const twilio = require('twilio');
const { Response } = require('twilio-run/dist/runtime/internal/response');
const { startFakeTwilio, DEFAULTS } = require('./fake-twilio');
const { install } = require('./redirect-twilio');
const { checkRecordedResponses } = require('./schemas');

const FUNCTIONS_DIR = path.resolve(__dirname, '../../functions');
const FIXTURES_DIR = path.resolve(__dirname, '../../../fixtures/metrics');
const VALID_TOKEN = DEFAULTS.validTokens[0];
/** The original task the default token's worker (DEFAULTS.workerSid) handled, seeded by withFake unless `handled` is given. */
const TASK = 'WT' + '0123456789abcdef'.repeat(2);

function functionsMap() {
  const out = {};
  for (const name of fs.readdirSync(FUNCTIONS_DIR)) {
    if (!name.endsWith('.js')) continue;
    out[name.replace(/\.js$/, '').replace(/\.private$/, '').replace(/\.protected$/, '')] = { path: path.join(FUNCTIONS_DIR, name) };
  }
  return out;
}

global.Twilio = { ...twilio, Response };
global.Runtime = { getFunctions: functionsMap, getAssets: () => ({}) };

function loadHandler(name) {
  return require(functionsMap()[name].path).handler;
}

/**
 * Invokes a Function and resolves with what would go on the wire.
 * @returns {Promise<{status:number, headers:object, body:any, ms:number}>}
 */
const FORM = Object.freeze({ 'content-type': 'application/x-www-form-urlencoded' });

/**
 * @param {string} name Function name
 * @param {{ env: object, event: object, headers?: object|null, timeoutMs?: number }} p
 *   headers: what the runtime puts in event.request.headers (lowercase names; default a form POST's
 *   Content-Type); null leaves event.request out
 */
function invoke(name, { env, event, headers = FORM, timeoutMs = 15000 }) {
  const handler = loadHandler(name);
  const context = { ...env, DOMAIN_NAME: 'localhost', PATH: `/${name}`, getTwilioClient: () => { throw new Error('the Functions must not use context.getTwilioClient()'); } };
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    let calls = 0;
    const timer = setTimeout(() => reject(new Error(`${name} never called back`)), timeoutMs);
    const ev = { ...event };
    for (const k of Object.keys(ev)) if (ev[k] === undefined) delete ev[k]; // as a parsed body: absent, not undefined
    if (headers) ev.request = { headers: { ...headers }, cookies: {} };
    handler(context, ev, (err, response) => {
      calls += 1;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (calls > 1) return reject(new Error(`${name} called back ${calls} times`));
      clearTimeout(timer);
      if (err) return reject(err);
      if (!(response instanceof Response)) return reject(new Error(`${name} answered without a Twilio.Response`));
      const wire = response.serialize();
      const body = typeof wire.body === 'string' ? JSON.parse(wire.body) : wire.body;
      // Give a second callback a chance to show up before declaring success.
      setImmediate(() => resolve({ status: wire.statusCode, headers: wire.headers, body, ms }));
    });
  });
}

/**
 * Starts a fake Twilio and points this process's Twilio traffic at it.
 * `env` has the Function environment matching the fake. `close()` also fails
 * if any recorded Twilio response broke the OpenAPI schemas.
 */
async function withFake(options = {}) {
  const fake = await startFakeTwilio({ handled: [{ workerSid: DEFAULTS.workerSid, taskSid: TASK }], ...options });
  const undo = install(fake.url);
  const env = {
    ACCOUNT_SID: fake.config.accountSid,
    AUTH_TOKEN: fake.config.authToken,
    WORKSPACE_SID: fake.config.workspaceSid,
    WORKFLOW_SID: fake.config.workflowSid,
    SYNC_SERVICE_SID: fake.config.syncServiceSid,
  };
  return {
    fake,
    env,
    count: (route) => fake.requests.filter((r) => r.route === route).length,
    async close() {
      undo();
      await fake.close();
      const problems = checkRecordedResponses(fake.requests);
      if (problems.length) throw new Error(`fake Twilio answered off-spec:\n${problems.join('\n')}`);
    },
  };
}

function readFixture(name) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, name), 'utf8'));
}

/** Runs fn(w) against a fresh fake Twilio (withFake), always closing it. */
async function scenario(options, fn) {
  const w = await withFake(options);
  try {
    await fn(w);
  } finally {
    await w.close();
  }
}

module.exports = { invoke, withFake, scenario, functionsMap, readFixture, VALID_TOKEN, TASK };
