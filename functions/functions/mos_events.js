'use strict';
/**
 * POST /mos_events: the Event Streams webhook sink of server mode (issue 11,
 * docs/server-mode.md). Body: a JSON array of CloudEvents (or one), signed
 * with X-Twilio-Signature over the sink URL + bodySHA256.
 *
 *   403 invalid_signature   unsigned or wrongly signed (a body that is neither a
 *                           CloudEvent nor an array cannot be verified either): no Twilio call
 *   200 { events, written, exists, joined, duplicates, skipped, noMos }
 *   503 retry_later         an event failed or did not finish within the
 *                           budget; Event Streams delivers the batch again and
 *                           the finished events are no-ops then
 *
 * The answer always comes within SINK_BUDGET_MS (Event Streams waits 5 s).
 */
const { createClient, withRetry, statusOf } = require(Runtime.getFunctions()['mos-twilio'].path);
const { parseSlot } = require(Runtime.getFunctions()['mos-validate'].path);
const { summariseCall } = require(Runtime.getFunctions()['mos-insights'].path);
const ledger = require(Runtime.getFunctions()['mos-ledger'].path);
const events = require(Runtime.getFunctions()['mos-events'].path);

/** Work stops being started after this; the answer goes out by then (the sink's limit is 5 s). */
const SINK_BUDGET_MS = 4000;
/** Halves processed at once (each is a few sequential Twilio calls). */
const CONCURRENCY = 8;

function log(level, ...a) {
  (level === 'info' ? console.log : level === 'warn' ? console.warn : console.error)('[mos-score] mos_events:', ...a);
}
const logger = { info: (...a) => log('info', ...a), warn: (...a) => log('warn', ...a), error: (...a) => log('error', ...a) };

function respond(callback, status, body) {
  const response = new Twilio.Response();
  response.setStatusCode(status);
  response.appendHeader('Content-Type', 'application/json');
  response.appendHeader('Cache-Control', 'no-store');
  response.setBody(body);
  callback(null, response);
}

const REQUIRED = [
  ['ACCOUNT_SID', /^AC[0-9a-fA-F]{32}$/],
  ['AUTH_TOKEN', /\S/],
  ['WORKSPACE_SID', /^WS[0-9a-fA-F]{32}$/],
  ['WORKFLOW_SID', /^WW[0-9a-fA-F]{32}$/],
];
const DEFAULT_TASK_CHANNEL = 'mos_score';

/**
 * What Voice Insights says and what the ledger writes, for a call whose
 * halves are both known. Voice Insights errors that a redelivery cannot cure
 * (Advanced Features off, no such call) end as "no MOS" with an error line;
 * the rest throw (503 answer, Event Streams delivers again).
 */
function summariser(client, deadline) {
  return async (callSid) => {
    try {
      return await summariseCall(client, callSid, { deadline });
    } catch (err) {
      if (err.code === 'advanced_features_required' || err.code === 'call_not_found') {
        logger.error(`${err.message} (call ${callSid})`);
        return null;
      }
      throw err;
    }
  };
}

/** The Twilio-side dependencies of processHalf (mos-events.private.js). */
function buildDeps(context, deadline) {
  const client = createClient(context);
  const serviceSid = ledger.syncServiceSid(context);
  const retry = (fn) => withRetry(fn, { deadline, what: 'joining server-mode events in Sync' });
  const sync = client.sync.v1.services(serviceSid);
  const ensureMap = () =>
    retry(() => sync.syncMaps.create({ uniqueName: events.JOIN_MAP })).catch((err) => {
      if (statusOf(err) !== 409) throw err;
    });
  const slot = parseSlot(context.ATTRIBUTE_SLOT, 'ATTRIBUTE_SLOT');
  const channel = typeof context.TASK_CHANNEL === 'string' && context.TASK_CHANNEL.trim() ? context.TASK_CHANNEL.trim() : DEFAULT_TASK_CHANNEL;
  return {
    items: sync.syncMaps(events.JOIN_MAP).syncMapItems,
    ensureMap,
    taskCtx: (taskSid) => client.taskrouter.v1.workspaces(context.WORKSPACE_SID).tasks(taskSid),
    summarise: summariser(client, deadline),
    writeMos: ({ taskSid, summary }) =>
      ledger.writeMosTask(client, { serviceSid, workspaceSid: context.WORKSPACE_SID, workflowSid: context.WORKFLOW_SID, channel, taskSid, slot, summary, deadline, log: logger }),
    retry,
    log: logger,
  };
}

/** Runs `work` over `list` with at most `limit` at once; stops starting new ones after `deadline`. */
async function pool(list, limit, deadline, work) {
  const results = new Array(list.length).fill(null);
  let next = 0;
  async function lane() {
    while (next < list.length) {
      const i = next;
      next += 1;
      if (Date.now() >= deadline) {
        results[i] = { outcome: 'unfinished' };
        continue;
      }
      try {
        results[i] = await work(list[i]);
      } catch (err) {
        results[i] = { outcome: 'failed', error: err };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, lane));
  return results;
}

exports.handler = async function mosEvents(context, event, callback) {
  const started = Date.now();
  let answered = false;
  const finish = (status, body) => {
    if (answered) return;
    answered = true;
    respond(callback, status, body);
  };
  for (const [key, pattern] of REQUIRED) {
    const v = context[key];
    if (typeof v !== 'string' || !pattern.test(v)) {
      log('error', `environment variable ${key} is ${v ? 'malformed' : 'not set'}`);
      finish(500, { error: { code: 'internal_error', message: `Environment variable ${key} is ${v ? 'malformed' : 'not set'}` } });
      return;
    }
  }

  // 1. Signature, before anything else: no Twilio call for an unsigned request.
  const raw = events.readBatch(event);
  const wasArray = !(event && typeof event.specversion === 'string');
  const body = raw ? events.bodyText(raw, wasArray) : '';
  const url = events.sinkUrl(context, event && event.bodySHA256);
  const check = events.verifySignature({ authToken: context.AUTH_TOKEN, signature: events.header(event, 'x-twilio-signature'), url, body });
  if (!check.ok) {
    log('warn', `403: ${check.reason}`);
    finish(403, { error: { code: 'invalid_signature', message: `Request rejected: ${check.reason}` } });
    return;
  }

  // 2. Parse; a skipped event is answered 200 (redelivering it would not change it).
  const counts = { events: raw.length, written: 0, exists: 0, joined: 0, duplicates: 0, skipped: 0, noMos: 0 };
  const halves = [];
  for (const ce of raw) {
    try {
      halves.push(events.parseEvent(ce));
    } catch (err) {
      if (err.name !== 'SkipEvent') throw err;
      counts.skipped += 1;
      log('info', `skipped: ${err.message}`);
    }
  }

  // 3. Join and write, within the budget.
  const deadline = started + SINK_BUDGET_MS;
  let deps;
  try {
    deps = halves.length ? buildDeps(context, deadline) : null;
  } catch (err) {
    log('error', `server mode is not deployable as is: ${err.message}`);
    finish(500, { error: { code: 'internal_error', message: err.message } });
    return;
  }
  const timer = setTimeout(() => finish(503, { error: { code: 'retry_later', message: `not finished within ${SINK_BUDGET_MS} ms` }, ...counts }), SINK_BUDGET_MS + 500);
  const results = await pool(halves, CONCURRENCY, deadline, (half) => events.processHalf(half, deps));
  clearTimeout(timer);
  let retryable = 0;
  results.forEach((r, i) => {
    const key = { written: 'written', exists: 'exists', joined: 'joined', duplicate: 'duplicates', no_mos: 'noMos' }[r.outcome];
    if (key) counts[key] += 1;
    else {
      retryable += 1;
      const err = r.error;
      const what = err ? `${statusOf(err) !== undefined ? `HTTP ${statusOf(err)} ` : ''}${err.message || err}` : 'budget spent before it started';
      log('error', `event ${halves[i].id} (${halves[i].type}, call ${halves[i].callSid}) ${r.outcome}: ${what}; Event Streams will deliver it again`);
    }
  });
  if (retryable > 0) finish(503, { error: { code: 'retry_later', message: `${retryable} of ${raw.length} events not done; deliver again` }, ...counts });
  else finish(200, counts);
};

exports.SINK_BUDGET_MS = SINK_BUDGET_MS;
exports.CONCURRENCY = CONCURRENCY;
