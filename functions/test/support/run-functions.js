#!/usr/bin/env node
'use strict';
/**
 * Serves this Functions service with the REAL twilio-run (the `twilio-run`
 * dev dependency, as `npm start` does) on a free port, with all of its Twilio
 * traffic (Voice Insights, TaskRouter, and the IAM token validation of
 * twilio-flex-token-validator) sent to a fake Twilio on loopback.
 *
 * ── Stable API ──────────────────────────────────────────────────────────────
 *
 *   const { startFakeTwilio } = require('functions/test/support/fake-twilio');
 *   const { startFunctions } = require('functions/test/support/run-functions');
 *
 *   const fake = await startFakeTwilio({ metricsByCall });
 *   const fns = await startFunctions({
 *     twilioUrl: fake.url,     // required: base URL of the fake (http://127.0.0.1:PORT)
 *     env: { ALLOWED_ORIGIN: 'http://127.0.0.1:8080' },  // optional: merged over the defaults below
 *     port: 0,                 // optional: 0 = pick a free port
 *     timeoutMs: 30000,        // optional: how long to wait for twilio-run to answer
 *   });
 *   // fns = { url: 'http://127.0.0.1:PORT', port, logs() -> string, close() -> Promise<void> }
 *   //   POST `${fns.url}/get_mos_score`, `${fns.url}/create_mos_score_task`
 *   await fns.close(); await fake.close();
 *
 *   const { freePort } = require('functions/test/support/run-functions');
 *   await freePort()          // a free loopback port (listened on, then closed): the one such helper
 *
 * Default env (matches startFakeTwilio()'s DEFAULTS): ACCOUNT_SID, AUTH_TOKEN,
 * WORKSPACE_SID, WORKFLOW_SID; SYNC_SERVICE_SID is left unset, so the ledger
 * uses the "default" Sync service alias (the fake serves it). The env reaches the Functions' `context` via a
 * temporary .env file passed with `--env` (twilio-run replaces its
 * process.env with that file's contents). The redirect is a preload:
 * NODE_OPTIONS="--require <abs>/test/support/redirect-twilio.js" plus
 * FAKE_TWILIO_URL, written to the same file so that twilio-run's forked
 * per-request function runners get them.
 * TWILIO_REGION / TWILIO_EDGE are removed from the child's environment.
 *
 * twilio-run itself listens on every interface (it has no host option); use
 * the returned 127.0.0.1 URL.
 *
 * CLI: `node functions/test/support/run-functions.js --twilio-url http://127.0.0.1:PORT [--port N]`
 * prints { url, port } as one JSON line and serves until SIGINT/SIGTERM.
 */
const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { DEFAULTS } = require('./fake-twilio');

const SERVICE_DIR = path.resolve(__dirname, '../..');
const TWILIO_RUN_BIN = require.resolve('twilio-run/bin/twilio-run.js', { paths: [SERVICE_DIR] });
const PRELOAD = path.join(__dirname, 'redirect-twilio.js');

/** The one free-loopback-port helper of the repository (e2e and bench import it from here). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function ping(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => {
      req.destroy();
      resolve(false);
    });
  });
}

function envFileText(env) {
  return Object.entries(env)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => {
      if (/[\r\n]/.test(String(v))) throw new Error(`env ${k} must be a single line`);
      return `${k}=${v}`;
    })
    .join('\n') + '\n';
}

/**
 * @param {{ twilioUrl: string, env?: object, port?: number, timeoutMs?: number }} options
 * @returns {Promise<{ url: string, port: number, logs: () => string, close: () => Promise<void> }>}
 */
async function startFunctions({ twilioUrl, env = {}, port = 0, timeoutMs = 30000 } = {}) {
  if (!twilioUrl) throw new Error('startFunctions: twilioUrl (the fake Twilio base URL) is required');
  const listenPort = port || (await freePort());
  const functionEnv = {
    ACCOUNT_SID: DEFAULTS.accountSid,
    AUTH_TOKEN: DEFAULTS.authToken,
    WORKSPACE_SID: DEFAULTS.workspaceSid,
    WORKFLOW_SID: DEFAULTS.workflowSid,
    ...env,
  };
  if (/\s/.test(PRELOAD)) throw new Error(`startFunctions: the preload path must not contain spaces: ${PRELOAD}`);
  // twilio-run replaces process.env with the --env file's contents before it
  // forks the per-request runners, so the preload settings go in the file too
  // (they then also appear in `context`, harmlessly).
  const redirect = { NODE_OPTIONS: `--require ${PRELOAD}`, FAKE_TWILIO_URL: twilioUrl };
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mos-fns-'));
  const envFile = path.join(tmpDir, '.env');
  fs.writeFileSync(envFile, envFileText({ ...functionEnv, ...redirect }), { mode: 0o600 });

  const childEnv = { ...process.env, ...redirect, FORCE_COLOR: '0', CI: process.env.CI || 'true' };
  delete childEnv.TWILIO_REGION;
  delete childEnv.TWILIO_EDGE;

  const child = spawn(process.execPath, [TWILIO_RUN_BIN, 'start', '--port', String(listenPort), '--env', envFile, '--log-level', 'warn'], {
    cwd: SERVICE_DIR,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  const exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => { exited = { code, signal }; resolve(); }));

  const url = `http://127.0.0.1:${listenPort}`;
  const cleanup = () => fs.rmSync(tmpDir, { recursive: true, force: true });
  const close = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 3000);
      await exitPromise;
      clearTimeout(t);
    }
    cleanup();
  };

  const until = Date.now() + timeoutMs;
  while (!(await ping(`${url}/`))) {
    if (exited) {
      cleanup();
      throw new Error(`twilio-run exited (${JSON.stringify(exited)}) before serving:\n${output}`);
    }
    if (Date.now() > until) {
      await close();
      throw new Error(`twilio-run did not answer on ${url} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port: listenPort, logs: () => output, close };
}

// `node --test test/` also runs every .js under test/ (this one included) as a test file, with
// NODE_TEST_CONTEXT set and no arguments; the CLI stays off then (pass an argument to force it).
if (require.main === module && (process.argv.includes('--twilio-url') || !process.env.NODE_TEST_CONTEXT)) {
  const argv = process.argv.slice(2);
  const arg = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  if (!arg('--twilio-url')) {
    console.error('usage: node run-functions.js --twilio-url http://127.0.0.1:PORT [--port N]');
    process.exit(2);
  }
  startFunctions({ twilioUrl: arg('--twilio-url'), port: Number(arg('--port') || 0) })
    .then((fns) => {
      process.stdout.write(JSON.stringify({ url: fns.url, port: fns.port }) + '\n');
      const stop = () => fns.close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    })
    .catch((err) => {
      console.error(err.message);
      process.exit(1);
    });
}

module.exports = { startFunctions, freePort };
