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
 *   500 internal_error      a missing/malformed environment variable (named)
 *
 * The answer always comes within SINK_BUDGET_MS (Event Streams waits 5 s).
 */
const { createClient, withRetry, statusOf, REQUEST_TIMEOUT_MS } = require(Runtime.getFunctions()['mos-twilio'].path);
const { parseSlot } = require(Runtime.getFunctions()['mos-validate'].path);
const { summariseCall } = require(Runtime.getFunctions()['mos-insights'].path);
const ledger = require(Runtime.getFunctions()['mos-ledger'].path);
const events = require(Runtime.getFunctions()['mos-events'].path);

/**
 * The deadline handed to every Twilio call: mos-twilio starts no request with
 * less than its 2 s request timeout left, so the last request starts by 2.5 s
 * and ends by 4.5 s, inside Event Streams' 5 s.
 */
const SINK_BUDGET_MS = 4500;
/** Call legs worked on at once (each is a chain of sequential Twilio calls). */
const CONCURRENCY = 16;

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
  const channel = ledger.taskChannel(context);
  return {
    items: sync.syncMaps(events.JOIN_MAP).syncMapItems,
    ensureMap,
    taskCtx: (taskSid) => client.taskrouter.v1.workspaces(context.WORKSPACE_SID).tasks(taskSid),
    summarise: summariser(client, deadline),
    writeMos: ({ taskSid, summary, conversationId }) =>
      ledger.writeMosTask(client, { serviceSid, workspaceSid: context.WORKSPACE_SID, workflowSid: context.WORKFLOW_SID, channel, taskSid, slot, summary, conversationId, deadline, log: logger }),
    retry,
    lastStartBy: deadline - REQUEST_TIMEOUT_MS,
    log: logger,
  };
}

/**
 * Runs the halves grouped by call leg (the halves of one leg in order, in one
 * lane, so they never race each other), at most `limit` legs at once, the legs
 * in a random order: when a big batch does not fit in one answer, each
 * redelivery finishes a different share instead of redoing the same first legs.
 * @returns {Promise<object[]>} one result per half, in the halves' order
 */
async function runGrouped(halves, limit, work, random = Math.random) {
  const groups = new Map();
  halves.forEach((h, i) => {
    if (!groups.has(h.callSid)) groups.set(h.callSid, []);
    groups.get(h.callSid).push(i);
  });
  const order = [...groups.values()];
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const results = new Array(halves.length).fill(null);
  let next = 0;
  async function lane() {
    while (next < order.length) {
      const group = order[next];
      next += 1;
      for (const i of group) {
        try {
          results[i] = await work(halves[i]);
        } catch (err) {
          results[i] = { outcome: 'failed', error: err };
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, order.length) }, lane));
  return results;
}

/** @returns {Promise<[number, object]>} status and body of the answer */
async function handle(context, event, started) {
  for (const [key, pattern] of REQUIRED) {
    const v = context[key];
    if (typeof v !== 'string' || !pattern.test(v)) {
      log('error', `environment variable ${key} is ${v ? 'malformed' : 'not set'}`);
      return [500, { error: { code: 'internal_error', message: `Environment variable ${key} is ${v ? 'malformed' : 'not set'}` } }];
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
    return [403, { error: { code: 'invalid_signature', message: `Request rejected: ${check.reason}` } }];
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
  if (halves.length === 0) return [200, counts];

  // 3. Join and write, within the budget.
  const deadline = started + SINK_BUDGET_MS;
  let deps;
  try {
    deps = buildDeps(context, deadline);
  } catch (err) {
    log('error', `server mode is misconfigured: ${err.message}`);
    return [500, { error: { code: 'internal_error', message: err.message } }];
  }
  const results = await runGrouped(halves, CONCURRENCY, (half) => events.processHalf(half, deps));
  let retryable = 0;
  results.forEach((r, i) => {
    const key = { written: 'written', exists: 'exists', joined: 'joined', duplicate: 'duplicates', no_mos: 'noMos' }[r.outcome];
    if (key) {
      counts[key] += 1;
      return;
    }
    retryable += 1;
    const h = halves[i];
    log('error', `event ${h.id} (${h.type}, call ${h.callSid}) not done: ${r.error && r.error.message}; Event Streams will deliver it again`);
  });
  if (retryable > 0) return [503, { error: { code: 'retry_later', message: `${retryable} of ${raw.length} events not done; deliver again` }, ...counts }];
  return [200, counts];
}

exports.handler = function mosEvents(context, event, callback) {
  const started = Date.now();
  let answered = false;
  const finish = (status, body) => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    respond(callback, status, body);
  };
  // The last word, should a Twilio call outlive its own timeout: Event Streams waits 5 s.
  const timer = setTimeout(() => finish(503, { error: { code: 'retry_later', message: `not finished within ${SINK_BUDGET_MS} ms` } }), SINK_BUDGET_MS + 300);
  handle(context, event, started).then(
    ([status, body]) => finish(status, body),
    (err) => {
      log('error', `unexpected: ${err && err.message}`);
      finish(500, { error: { code: 'internal_error', message: 'Unexpected error; see the Function logs' } });
    },
  );
};
