'use strict';
/**
 * Server mode (issue 11): the rules of the Event Streams sink mos_events, apart
 * from its handler so tests and the bench run them in-process: the request as
 * Twilio signed it (URL + bodySHA256, real `twilio` helper), the two CloudEvents
 * we use (TaskRouter task.wrapup/.completed, Voice Insights call-summary
 * .predicted-complete/.complete), the join of the two in one Sync Map Item per
 * agent call leg (either order, idempotent per CloudEvent id), the original
 * task's link with If-Match, and processHalf, which ends in mos-insights (the
 * get_mos_score read) and the shared ledger. See docs/server-mode.md.
 */
const twilio = require('twilio');
/** The ledger's rule for a MOS task's conversation id (loaded on use: this module loads without the runtime). */
const conversationIdOr = (id, fallback) => require(Runtime.getFunctions()['mos-ledger'].path).conversationIdOr(id, fallback);

const TYPES = Object.freeze({
  TASK_WRAPUP: 'com.twilio.taskrouter.task.wrapup',
  TASK_COMPLETED: 'com.twilio.taskrouter.task.completed',
  SUMMARY_PREDICTED: 'com.twilio.voice.insights.call-summary.predicted-complete',
  SUMMARY_COMPLETE: 'com.twilio.voice.insights.call-summary.complete',
});
const TASK_TYPES = new Set([TYPES.TASK_WRAPUP, TYPES.TASK_COMPLETED]);
const SUMMARY_TYPES = new Set([TYPES.SUMMARY_PREDICTED, TYPES.SUMMARY_COMPLETE]);

/** The join map and its item TTL (issue 11: at least 2 days). */
const JOIN_MAP = 'mos_score_join';
const JOIN_TTL_SECONDS = 2 * 24 * 3600;
/** Sequential Twilio calls from "both halves known" to the end: metrics, claim, create, record, cancel, record, join done, +1 spare; +6 per further task on the leg. */
const WRITE_CALLS = 8;

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const TASK_SID = /^WT[0-9a-fA-F]{32}$/;
const lowerSid = (sid) => sid.slice(0, 2) + sid.slice(2).toLowerCase();

/* ───────────── the request as Twilio signed it ───────────── */

/**
 * The CloudEvents of one delivery. Twilio Functions (and twilio-run) build
 * `event` as { request, ...query, ...body }: a JSON array body arrives as the
 * keys "0", "1", ...; a single CloudEvent object arrives as its own keys.
 * @returns {object[]|null} null when the body is neither
 */
function readBatch(event) {
  if (!event || typeof event !== 'object') return null;
  if (Array.isArray(event)) return event;
  if (typeof event.specversion === 'string') {
    const one = {};
    for (const [k, v] of Object.entries(event)) if (k !== 'request' && k !== 'bodySHA256') one[k] = v;
    return [one];
  }
  const out = [];
  for (let i = 0; Object.prototype.hasOwnProperty.call(event, String(i)); i += 1) out.push(event[String(i)]);
  return out.length > 0 ? out : null;
}

/**
 * The body Twilio hashed, as far as a Function can know it: Functions hand
 * over the parsed JSON, not the bytes, so the compact re-serialisation is
 * hashed. Twilio's own body is compact JSON; see docs/server-mode.md for the
 * one case where this would reject a genuine delivery and what to do.
 */
function bodyText(batch, wasArray = true) {
  return JSON.stringify(wasArray ? batch : batch[0]);
}

/**
 * The URL Twilio signed: the sink destination (MOS_EVENTS_URL, exactly as
 * given to `sinks:create`; default https://DOMAIN_NAME/PATH) with the
 * bodySHA256 query parameter Twilio appends for JSON bodies.
 */
function sinkUrl(context, bodySha256) {
  const configured = typeof context.MOS_EVENTS_URL === 'string' ? context.MOS_EVENTS_URL.trim() : '';
  const base = configured || `https://${context.DOMAIN_NAME}${context.PATH || '/mos_events'}`;
  return `${base}${base.includes('?') ? '&' : '?'}bodySHA256=${encodeURIComponent(bodySha256 || '')}`;
}

/** Header lookup in event.request.headers (lower-cased by the runtime; arrays for repeats). */
function header(event, name) {
  const headers = event && event.request && event.request.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * @returns {{ ok: true } | { ok: false, reason: string }} with the real helper:
 *   the HMAC-SHA1 over the URL (with bodySHA256) and the SHA-256 of the body
 */
function verifySignature({ authToken, signature, url, body }) {
  if (typeof signature !== 'string' || signature === '') return { ok: false, reason: 'missing X-Twilio-Signature header' };
  if (!/[?&]bodySHA256=[0-9a-f]{64}(&|$)/.test(url)) return { ok: false, reason: 'missing or malformed bodySHA256 query parameter' };
  if (!twilio.validateRequestWithBody(authToken, signature, url, body)) return { ok: false, reason: 'signature or body hash does not match' };
  return { ok: true };
}

/* ───────────── the two CloudEvents ───────────── */

class SkipEvent extends Error {
  constructor(message) {
    super(message);
    this.name = 'SkipEvent';
  }
}

/** The CloudEvent envelope: id and type are required (CloudEvents 1.0). */
function envelope(ce) {
  if (!ce || typeof ce !== 'object' || Array.isArray(ce)) throw new SkipEvent('a batch entry is not a CloudEvent object');
  if (typeof ce.id !== 'string' || ce.id === '' || ce.id.length > 128) throw new SkipEvent('a CloudEvent has no usable "id"');
  if (typeof ce.type !== 'string') throw new SkipEvent(`CloudEvent ${ce.id} has no "type"`);
  if (!ce.data || typeof ce.data !== 'object') throw new SkipEvent(`CloudEvent ${ce.id} (${ce.type}) has no "data" object`);
  return { id: ce.id, type: ce.type };
}

/**
 * TaskRouter events: schema version 4 (TaskRouter.WDSEvent/4) wraps the
 * event fields in data.payload; versions 1-3 carry them in data itself.
 */
function taskFields(data) {
  return data.payload && typeof data.payload === 'object' && !Array.isArray(data.payload) ? data.payload : data;
}

/**
 * @returns {{ id, type, kind: 'task', taskSid, callSid, channel, attributes }}
 * @throws SkipEvent with a one-line reason (not a voice task, no worker leg, ...)
 */
function parseTaskEvent(ce) {
  const { id, type } = envelope(ce);
  const f = taskFields(ce.data);
  if (typeof f.task_sid !== 'string' || !TASK_SID.test(f.task_sid)) throw new SkipEvent(`CloudEvent ${id} (${type}) has no valid task_sid`);
  const taskSid = lowerSid(f.task_sid);
  const channel = f.task_channel_unique_name;
  if (channel !== 'voice') throw new SkipEvent(`task ${taskSid} is on channel ${JSON.stringify(channel)}, not voice: no MOS`);
  let attributes;
  try {
    attributes = typeof f.task_attributes === 'string' ? JSON.parse(f.task_attributes) : f.task_attributes;
  } catch (err) {
    throw new SkipEvent(`task ${taskSid}: task_attributes is not valid JSON (${err.message})`);
  }
  if (!attributes || typeof attributes !== 'object') throw new SkipEvent(`task ${taskSid}: no task_attributes`);
  const worker = attributes.conference && attributes.conference.participants && attributes.conference.participants.worker;
  if (typeof worker !== 'string' || !CALL_SID.test(worker)) {
    throw new SkipEvent(`voice task ${taskSid} has no SDK leg (conference.participants.worker is ${worker === undefined ? 'missing' : JSON.stringify(worker)}): no MOS`);
  }
  return { id, type, kind: 'task', taskSid, callSid: lowerSid(worker), channel, attributes };
}

/** @returns {{ id, type, kind: 'summary', callSid }} */
function parseSummaryEvent(ce) {
  const { id, type } = envelope(ce);
  const sid = ce.data.call_sid;
  if (typeof sid !== 'string' || !CALL_SID.test(sid)) throw new SkipEvent(`CloudEvent ${id} (${type}) has no valid call_sid`);
  return { id, type, kind: 'summary', callSid: lowerSid(sid) };
}

/** @returns parsed half, or throws SkipEvent (also for types this sink does not use) */
function parseEvent(ce) {
  const { id, type } = envelope(ce);
  if (TASK_TYPES.has(type)) return parseTaskEvent(ce);
  if (SUMMARY_TYPES.has(type)) return parseSummaryEvent(ce);
  throw new SkipEvent(`CloudEvent ${id} has type ${type}, which this sink does not use`);
}

/* ───────────── the join (pure) ───────────── */

/**
 * Folds one half into a join item's data (pure).
 * @param {object|null} data current item data, or null when there is none
 * @param {object} half from parseEvent
 * @returns {{ data: object, changed: boolean, duplicate: boolean }}
 *   duplicate: this CloudEvent id was already folded in, or this half was
 *   already known from another event (task.completed after task.wrapup,
 *   call-summary.complete after a .predicted-complete that gave a MOS): nothing
 *   to write. A summary half that gave no usable MOS is dropped again
 *   (reopenSummary), so the next call-summary event is folded in.
 */
function mergeHalf(data, half) {
  const cur = data && typeof data === 'object' ? data : {};
  const ids = Array.isArray(cur.ids) ? cur.ids : [];
  const known = half.kind === 'task' ? joinTasks(cur).some((t) => t.sid === half.taskSid) : Boolean(cur.summary);
  if (ids.includes(half.id) || known) return { data: cur, changed: false, duplicate: true };
  // One id per half folded in: two, plus one per call-summary that had no usable MOS yet
  // and one per further task on the same leg.
  const next = { ...cur, ids: [...ids, half.id] };
  // Only a conversation id the MOS task can take (the ledger's rule) is kept in the item.
  const conversationId = half.kind === 'task' ? conversationIdOr(half.conversationId || eventConversationId(half.attributes), null) : null;
  const task = { sid: half.taskSid, type: half.type, ...(conversationId ? { conversationId } : {}) };
  if (half.kind === 'task' && !cur.task) next.task = task;
  else if (half.kind === 'task') {
    // Another task on the same agent call leg: kept next to the first, and written too (done reopens).
    next.more = [...(Array.isArray(cur.more) ? cur.more : []), task];
    next.done = false;
  } else next.summary = { type: half.type };
  return { data: next, changed: true, duplicate: false };
}

/** The original tasks of a join item: the first one, then any further task on the same leg. */
function joinTasks(data) {
  return [data && data.task, ...(data && Array.isArray(data.more) ? data.more : [])].filter((t) => t && typeof t.sid === 'string');
}

/** The tasks of a join item whose MOS task is not written yet. */
function unwritten(data) {
  const written = (data && data.written) || {};
  return joinTasks(data).filter((t) => !written[t.sid]);
}

/** Both halves known and not yet written. */
function isReady(data) {
  return Boolean(data && data.summary && !data.done && unwritten(data).length > 0);
}

/* ───────────── Twilio edge: Sync join and the original-task link ───────────── */

const statusOf = (err) => (err && typeof err.status === 'number' ? err.status : undefined);
const isCollision = (err) => statusOf(err) === 409 || (err && err.code === 54208);
const isPrecondition = (err) => statusOf(err) === 412;
const isNotFound = (err) => statusOf(err) === 404;

/**
 * Folds `half` into the Sync Map Item of its call leg, read first: a half the
 * item already holds (a redelivery) costs this one read and nothing else.
 * Otherwise `beforeFold` runs once (the original task's link, so a half is
 * only ever recorded after its side effects), then the item is created
 * (atomic: when two first halves race, one gets 409 and reads again) or
 * updated with If-Match on its revision (412: read again).
 * @param {object} items client.sync.v1.services(S).syncMaps(JOIN_MAP).syncMapItems
 * @param {(fn) => Promise} retry the caller's deadline-aware retry (mos-twilio withRetry)
 * @param {() => Promise} [ensureMap] creates JOIN_MAP (a 409 "already exists" counts as done)
 * @param {() => Promise<object|undefined>} [beforeFold] runs once, before this half is first recorded;
 *   the fields it answers (e.g. { conversationId }) are folded in with the half
 * @returns {Promise<{ data: object, revision: string, duplicate: boolean, calls: number }>}
 */
async function joinHalf(items, half, { retry = (fn) => fn(), maxRounds = 5, ensureMap, beforeFold } = {}) {
  let calls = 0;
  let mapChecked = false;
  let prepared = false;
  for (let round = 0; round < maxRounds; round += 1) {
    let item = null;
    try {
      calls += 1;
      item = await retry(() => items(half.callSid).fetch());
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    let merged = mergeHalf(item && item.data, half);
    if (!merged.changed) return { data: item.data, revision: item.revision, duplicate: true, calls };
    if (beforeFold && !prepared) {
      // What beforeFold learns (the original task's conversation id) is folded in with the half.
      const learned = await beforeFold();
      if (learned) half = { ...half, ...learned };
      prepared = true;
    }
    merged = mergeHalf(item && item.data, half);
    try {
      calls += 1;
      const written = item
        ? await retry(() => items(half.callSid).update({ data: merged.data, ifMatch: item.revision, itemTtl: JOIN_TTL_SECONDS }))
        : await retry(() => items.create({ key: half.callSid, data: merged.data, itemTtl: JOIN_TTL_SECONDS }));
      return { data: written.data, revision: written.revision, duplicate: false, calls };
    } catch (err) {
      if (!item && isNotFound(err) && ensureMap && !mapChecked) {
        // The join map does not exist yet (first event after deployment): create it once.
        mapChecked = true;
        calls += 1;
        await ensureMap();
        continue;
      }
      if (!isCollision(err) && !isPrecondition(err) && !isNotFound(err)) throw err;
    }
  }
  throw new Error(`join for call ${half.callSid} did not settle after ${maxRounds} rounds of concurrent updates`);
}

/**
 * Marks the join item written (If-Match; a lost race means another run already did).
 * @param {object} [opts.written] task SID -> MOS task SID of the tasks just written
 */
async function markDone(items, callSid, data, revision, { retry = (fn) => fn(), written = {} } = {}) {
  const all = { ...(data.written || {}), ...written };
  const first = data.task && all[data.task.sid];
  try {
    await retry(() => items(callSid).update({ data: { ...data, done: true, mosTask: first || null, written: all }, ifMatch: revision, itemTtl: JOIN_TTL_SECONDS }));
    return true;
  } catch (err) {
    if (isPrecondition(err)) return false;
    throw err;
  }
}

/**
 * Drops the summary half from the join item after a summary with no usable MOS
 * (If-Match; a lost race means another run changed the item): the CloudEvent
 * ids stay, so a redelivery of the same event stays a duplicate, while a later
 * call-summary event is folded in and tries again.
 */
async function reopenSummary(items, callSid, data, revision, { retry = (fn) => fn() } = {}) {
  const { summary, ...rest } = data;
  const next = { ...rest, noMos: [...(Array.isArray(data.noMos) ? data.noMos : []), summary && summary.type].slice(-4) };
  try {
    await retry(() => items(callSid).update({ data: next, ifMatch: revision, itemTtl: JOIN_TTL_SECONDS }));
    return true;
  } catch (err) {
    if (isPrecondition(err)) return false;
    throw err;
  }
}

/**
 * Sets conversations.conversation_id = task SID on the original task when it
 * is missing, with If-Match on the task's ETag so a concurrent change (Flex,
 * or the plugin's own link) is never overwritten: 412 → fetch again and
 * re-decide, up to `maxRounds`.
 * @param {object} taskCtx client.taskrouter.v1.workspaces(WS).tasks(WT)
 * @returns {Promise<{ link: 'linked'|'already'|'other'|'gone', conversationId: string|null }>}
 *   link 'other': another conversation_id is there and is kept;
 *   conversationId: the task's conversation_id after this step (null when 'gone' without one):
 *   the conversation the MOS task joins
 */
async function linkOriginalTask(taskCtx, taskSid, { retry = (fn) => fn(), maxRounds = 3 } = {}) {
  for (let round = 0; round < maxRounds; round += 1) {
    let res;
    try {
      res = await retry(() => taskCtx.fetchWithHttpInfo());
    } catch (err) {
      if (isNotFound(err)) return { link: 'gone', conversationId: null };
      throw err;
    }
    const task = res.body;
    const etag = res.headers && (res.headers.etag || res.headers.ETag);
    let attrs;
    try {
      attrs = JSON.parse(task.attributes || '{}');
    } catch {
      attrs = {};
    }
    const conv = attrs.conversations && typeof attrs.conversations === 'object' ? attrs.conversations : {};
    if (typeof conv.conversation_id === 'string' && conv.conversation_id !== '') {
      const link = conv.conversation_id.toLowerCase() === taskSid.toLowerCase() ? 'already' : 'other';
      return { link, conversationId: conv.conversation_id };
    }
    if (task.assignmentStatus === 'completed' || task.assignmentStatus === 'canceled') return { link: 'gone', conversationId: null };
    const next = { ...attrs, conversations: { ...conv, conversation_id: task.sid } };
    try {
      await retry(() => taskCtx.update({ attributes: JSON.stringify(next), ...(etag ? { ifMatch: etag } : {}) }));
      return { link: 'linked', conversationId: task.sid };
    } catch (err) {
      if (isPrecondition(err)) continue;
      if (isNotFound(err)) return { link: 'gone', conversationId: null };
      throw err;
    }
  }
  throw new Error(`[mos-score] linking task ${taskSid}: its attributes kept changing (412 ${maxRounds} times)`);
}

/** The conversations.conversation_id a task event's attributes carry, or null. */
function eventConversationId(attributes) {
  const conv = attributes && attributes.conversations;
  return conv && typeof conv === 'object' && typeof conv.conversation_id === 'string' && conv.conversation_id !== '' ? conv.conversation_id : null;
}

/* ───────────── one half, end to end ───────────── */

/**
 * Runs one parsed half through the join and, when both halves are known,
 * the MOS and the ledger write.
 * @param {object} half from parseEvent
 * @param {object} deps
 * @param {object} deps.items Sync Map Items of JOIN_MAP
 * @param {() => Promise} [deps.ensureMap] creates JOIN_MAP on first use
 * @param {(taskSid) => object} deps.taskCtx TaskRouter task context of the original task
 * @param {(callSid) => Promise<object|null>} deps.summarise the get_mos_score summary, null when no usable MOS
 * @param {({ taskSid, callSid, summary }) => Promise<{ sid, created }>} deps.writeMos the shared ledger write
 * @param {(fn) => Promise} [deps.retry]
 * @param {number} [deps.lastStartBy] epoch ms after which no Twilio call may start (deadline - request timeout)
 * @param {{ info, warn }} deps.log
 * @returns {Promise<{ outcome: string, taskSid?: string, mosTask?: string, link?: string }>}
 *   outcome: 'joined' (half stored, other half awaited), 'duplicate', 'written', 'exists'
 *   (the ledger already had this task's MOS: plugin or an earlier delivery), 'no_mos'
 */
async function processHalf(half, deps) {
  const { items, retry = (fn) => fn(), log } = deps;
  let link;
  // The conversation the MOS task joins: what the link step found or set on the original task,
  // else what the task event carried; without either, the ledger uses the task SID.
  const linkFirst = half.kind === 'task' && half.type === TYPES.TASK_WRAPUP
    ? async () => {
      const found = await linkOriginalTask(deps.taskCtx(half.taskSid), half.taskSid, { retry });
      link = found.link;
      if (link === 'other') log.info(`task ${half.taskSid} already has another conversations.conversation_id; kept as it is, and the MOS task joins it`);
      return { conversationId: found.conversationId };
    }
    : undefined;
  const joinStarted = Date.now();
  const joined = await joinHalf(items, half, { retry, ensureMap: deps.ensureMap, beforeFold: linkFirst });
  const data = joined.data;
  if (half.kind === 'task' && !joined.duplicate && data.task && data.task.sid !== half.taskSid) {
    log.warn(`call ${half.callSid} carries a second task ${half.taskSid} after task ${data.task.sid}: each gets its own MOS task, both with this call leg's MOS`);
  }
  if (!isReady(data)) return { outcome: joined.duplicate ? 'duplicate' : 'joined', link };
  const pending = unwritten(data);
  const taskSid = pending[0].sid;
  if (deps.lastStartBy) {
    // Start the write only if its whole chain of calls can start in time: a claim
    // left behind mid-write blocks the task until the ledger's stale-claim takeover.
    const perCall = Math.max(50, (Date.now() - joinStarted) / Math.max(1, joined.calls));
    const needed = (WRITE_CALLS + 6 * (pending.length - 1)) * perCall;
    if (Date.now() + needed > deps.lastStartBy) {
      throw new Error(`not enough time left to write the MOS of task ${taskSid} (about ${Math.round(needed)} ms needed)`);
    }
  }
  const summary = await deps.summarise(half.callSid);
  if (!summary) {
    // Not final: .predicted-complete may come before Voice Insights has the samples. The join
    // stays open without its summary half, so a later call-summary event (.complete) tries again.
    log.warn(`no usable sdk_edge MOS for call ${half.callSid} (task ${taskSid}) yet: no MOS task; a later call-summary event tries again`);
    await reopenSummary(items, half.callSid, data, joined.revision, { retry });
    return { outcome: 'no_mos', taskSid, link };
  }
  const done = {};
  let created = false;
  let last;
  for (const t of pending) {
    last = await deps.writeMos({ taskSid: t.sid, callSid: half.callSid, summary, conversationId: t.conversationId });
    done[t.sid] = last.sid;
    created = created || last.created;
    if (last.created) log.info(`MOS ${summary.average.toFixed(2)} recorded for task ${t.sid} (call ${half.callSid}) as ${last.sid}`);
  }
  await markDone(items, half.callSid, data, joined.revision, { retry, written: done });
  const lastSid = pending[pending.length - 1].sid;
  return { outcome: created ? 'written' : 'exists', taskSid: lastSid, mosTask: last.sid, link };
}

module.exports = {
  processHalf,
  TYPES,
  JOIN_MAP,
  JOIN_TTL_SECONDS,
  readBatch,
  bodyText,
  sinkUrl,
  header,
  verifySignature,
  parseEvent,
  mergeHalf,
  isReady,
  linkOriginalTask,
  lowerSid,
};
