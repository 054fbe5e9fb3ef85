'use strict';
/**
 * Starts everything the plugin talks to, on loopback with free ports, and the
 * host page that plays Flex:
 *
 *   const stack = await startStack({ fixture: 'call_360.json' });
 *   stack.fake               // helper-1's fake Twilio (requests, tasks, addFailure, ...)
 *   stack.fns                // the Functions under the real twilio-run
 *   stack.host               // the simulated Flex host page server (host.pageUrl(config))
 *   stack.functionsBaseUrl   // 'http://localhost:PORT' (the plugin accepts https or http://localhost)
 *   stack.call               // { callSid, items, expected } of the loaded metrics fixture
 *   stack.token              // a Flex token the fake's IAM calls valid
 *   stack.voiceTask()        // fixtures/tasks/voice_wrapup.json with its worker leg on the fixture call
 *   await stack.close();
 *
 * Reused by the e2e test, scripts/demo.sh and the benchmark.
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const SUPPORT = path.join(ROOT, 'functions', 'test', 'support');
const { startFakeTwilio, DEFAULTS } = require(path.join(SUPPORT, 'fake-twilio.js'));
const { startFunctions } = require(path.join(SUPPORT, 'run-functions.js'));
const { startHost } = require(path.join(__dirname, '..', 'host', 'server.js'));

const FIXTURES = path.join(ROOT, 'fixtures');
const TOKEN = DEFAULTS.validTokens[0];

function readJson(...parts) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, ...parts), 'utf8'));
}

/** A fixtures/tasks ITask whose worker leg is moved to `callSid`. */
function taskOnCall(file, callSid) {
  const task = readJson('tasks', file);
  const conf = task.attributes && task.attributes.conference;
  if (conf && conf.participants && callSid) conf.participants.worker = callSid;
  if (task.conference && Array.isArray(task.conference.participants) && callSid) {
    task.conference.participants.forEach((p) => {
      if (p.participantType === 'worker' && p.isCurrentWorker) p.callSid = callSid;
    });
  }
  return task;
}

async function startStack(options = {}) {
  const fixture = options.fixture || 'call_360.json';
  const items = readJson('metrics', fixture);
  const expected = readJson('metrics', 'expected.json')[fixture] || null;
  const callSid = (expected && expected.callSid) || (items[0] && items[0].call_sid);

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
    const fake = await startFakeTwilio({ host: '127.0.0.1', port: 0, metricsByCall: { [callSid]: items }, validTokens: [TOKEN] });
    started.push(fake);
    const host = await startHost({ bundlePath: options.bundlePath });
    started.push(host);
    const fns = await startFunctions({ twilioUrl: fake.url, env: { ALLOWED_ORIGIN: host.url, ...(options.functionsEnv || {}) } });
    started.push(fns);
    return {
      fake,
      host,
      fns,
      token: TOKEN,
      functionsBaseUrl: `http://localhost:${fns.port}`,
      call: { fixture, callSid, items, expected },
      voiceTask: () => taskOnCall('voice_wrapup.json', callSid),
      chatTask: () => readJson('tasks', 'chat_wrapup.json'),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * The get_mos_score summary of a metrics fixture, computed here from the raw
 * items (not by the Functions): usable samples are sdk_edge items whose
 * sdk_edge.interval.mos.value is a finite number in [1, 5].
 */
function summarise(items) {
  const mos = items
    .filter((i) => i.edge === 'sdk_edge' && i.sdk_edge && i.sdk_edge.interval && i.sdk_edge.interval.mos)
    .map((i) => i.sdk_edge.interval.mos.value)
    .filter((v) => typeof v === 'number' && Number.isFinite(v) && v >= 1 && v <= 5);
  // Sum in integer hundredths to avoid float drift, round half up.
  const hundredths = mos.map((v) => Math.round(v * 100));
  const sum = hundredths.reduce((a, b) => a + b, 0);
  const avgHundredths = Math.floor((sum * 2 + mos.length) / (2 * mos.length));
  return {
    samples: mos.length,
    average: avgHundredths / 100,
    minimum: Math.min(...mos),
    poorShare: mos.filter((v) => v < 3.5).length / mos.length,
  };
}

module.exports = { startStack, summarise, taskOnCall, readJson, TOKEN, ROOT };
