'use strict';
/**
 * The exactly-once ledger for MOS tasks (Twilio Sync), the ONE builder of a
 * MOS task's attributes, and the ONE writer of a MOS task. Used by
 * create_mos_score_task and by any server-side path (e.g. an Event Streams
 * sink), so the plugin and the server never both write a MOS for one task.
 *
 * ── Interface ───────────────────────────────────────────────────────────────
 *
 *   const ledger = require(Runtime.getFunctions()['mos-ledger'].path);
 *   // client: a `twilio` helper client (mos-twilio createClient(context))
 *   // serviceSid: ledger.syncServiceSid(context)  (SYNC_SERVICE_SID, default "default")
 *   // taskSid: the ORIGINAL task's SID, normalised: "WT" + 32 lowercase hex (mos-validate parseSid(v, 'TaskSid', 'WT'))
 *   // summary: { average, minimum, poorShare, samples, source: 'voice-insights'|'sdk' }, range-checked by the caller
 *   //          (average/minimum 1..5, poorShare 0..1, samples integer >= 1)
 *   // deadline: epoch ms by which Twilio calls must stop (mos-http passes it to handlers)
 *   // log: { info, warn, error } writing "[mos-score] ..." lines
 *
 *   await ledger.claim(client, { serviceSid, taskSid, deadline, log })
 *     -> { won: true, item, takenOver: boolean }   this caller owns the write
 *     -> { won: false, winnerSid: 'WT…' | null, state, claimedAt }  someone else does; winnerSid is the
 *        MOS task once recorded (null while the winner is still creating it)
 *   await ledger.record(client, { serviceSid, taskSid, deadline, log, item }, mosTaskSid, state = 'created')
 *     -> stores the MOS task SID in the claim (If-Match on the claim's revision)
 *   ledger.buildMosTaskAttributes({ taskSid, slot, summary, conversationId = taskSid }) -> { attributes, json }
 *     conversationId: the original task's conversations.conversation_id (server mode reads it
 *     when it links the task); anything but a plain string of 1..128 characters without control
 *     characters falls back to taskSid
 *   await ledger.writeMosTask(client, { serviceSid, workspaceSid, workflowSid, channel, taskSid, slot, summary, conversationId, deadline, log })
 *     -> { sid: 'WT…', created: true|false }   claim -> create -> record -> cancel -> record done
 *     The task is cancelled only once its SID is recorded (TaskRouter deletes a cancelled task
 *     5 minutes later, and then no marker search finds it): when the record fails, the task stays
 *     pending and the caller gets 503 `in_progress`; the takeover after 60 s finds and records it.
 *     A loser waits up to 3 s for the winner to finish ('done') and answers { sid: winner, created: false };
 *     throws HttpError 503 `in_progress` when the winner has not even recorded its task by then
 *     (retry later), or a mapped Twilio error (mos-twilio mapTwilioError).
 *
 * ── How the claim works ─────────────────────────────────────────────────────
 * Map `mos_score_ledger` in the Sync service (created on first use; a
 * concurrent creation answering 409 is fine). One Map Item per original task,
 * key = the normalised task SID, ItemTtl = 7 days. Sync refuses a second item
 * with the same key (error 54208, HTTP 409), so exactly one request wins.
 * Item data: { state: 'claimed'|'created'|'done', owner, claimedAt, mosTaskSid? }.
 *
 * Stale claims: a winner that dies between its claim and its record would
 * block the task for 7 days. Every Function invocation is killed by Twilio at
 * 10 s, so a claim still in state 'claimed' STALE_AFTER_MS (60 s) after
 * claimedAt belongs to a dead writer: the next caller takes it over with an
 * update carrying If-Match: <the revision it read> (a concurrent taker gets
 * 412 and loses), and, because the dead writer may have created the task
 * before dying, first searches TaskRouter for a task with
 * mos_score_for == <taskSid> (only on this rare path).
 */
const { HttpError, withRetry, statusOf, mapTwilioError } = require(Runtime.getFunctions()['mos-twilio'].path);
const { round2 } = require(Runtime.getFunctions()['mos-summary'].path);

const MAP_NAME = 'mos_score_ledger';
const ITEM_TTL_S = 7 * 24 * 3600;
const STALE_AFTER_MS = 60 * 1000;
const DEFAULT_SYNC_SERVICE = 'default';
const DEFAULT_TASK_CHANNEL = 'mos_score';
const SYNC_SERVICE = /^(IS[0-9a-fA-F]{32}|default)$/;
const MARKER_KEY = 'mos_score_for';
/**
 * TaskRouter's limit on a Task's JSON attributes, in bytes, whitespace included
 * ("TaskRouter resource limits", https://www.twilio.com/docs/taskrouter/limits).
 */
const ATTRIBUTES_MAX_BYTES = 16 * 1024;
const CANCEL_REASON = 'MOS score recorded';
const CANCELLABLE = new Set(['pending', 'reserved']);
/** How long a loser waits for the winner to record its MOS task before answering in_progress. */
const LOSER_WAIT_MS = 3000;
const LOSER_POLL_MS = 250;
/** Twilio stops every Function invocation at 10 s: a claim older than this has no live writer. */
const WINNER_LIFE_MS = 10 * 1000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** SYNC_SERVICE_SID: an IS… SID, or "default" (the account's default Sync service) when unset. */
function syncServiceSid(context) {
  const raw = context && typeof context.SYNC_SERVICE_SID === 'string' ? context.SYNC_SERVICE_SID.trim() : '';
  if (raw === '') return DEFAULT_SYNC_SERVICE;
  if (!SYNC_SERVICE.test(raw)) throw new HttpError(500, 'internal_error', 'Environment variable SYNC_SERVICE_SID is malformed (IS followed by 32 hex digits, or "default")');
  return raw;
}

/** TASK_CHANNEL: the MOS tasks' TaskChannel (unique name or TC… SID), default mos_score. */
function taskChannel(context) {
  const raw = context && typeof context.TASK_CHANNEL === 'string' ? context.TASK_CHANNEL.trim() : '';
  return raw || DEFAULT_TASK_CHANNEL;
}

function itemsOf(client, serviceSid) {
  return client.sync.v1.services(serviceSid).syncMaps(MAP_NAME).syncMapItems;
}

async function ensureMap(client, { serviceSid, deadline }) {
  try {
    await withRetry(() => client.sync.v1.services(serviceSid).syncMaps.create({ uniqueName: MAP_NAME }), { deadline, what: 'creating the Sync ledger map' });
  } catch (err) {
    // Another request created it first (Sync answers 409 for a taken unique name).
    if (statusOf(err) === 409) return;
    throw mapTwilioError(err, 'creating the Sync ledger map');
  }
}

function newOwner() {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

async function fetchItem(client, { serviceSid, taskSid, deadline }) {
  try {
    return await withRetry(() => itemsOf(client, serviceSid)(taskSid).fetch(), { deadline, what: `reading the ledger for ${taskSid}` });
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw mapTwilioError(err, `reading the ledger for ${taskSid}`);
  }
}

/** Takes over a stale claim; returns the updated item, or null when someone else changed it first (412). */
async function takeOver(client, { serviceSid, taskSid, deadline }, item, data) {
  try {
    return await withRetry(() => itemsOf(client, serviceSid)(taskSid).update({ data, ifMatch: item.revision }), { deadline, what: `taking over the stale ledger claim for ${taskSid}` });
  } catch (err) {
    if (statusOf(err) === 412) return null;
    throw mapTwilioError(err, `taking over the stale ledger claim for ${taskSid}`);
  }
}

/**
 * Claims the right to write the MOS task for `taskSid` (see the header).
 * @returns {Promise<{won:true, item:object, takenOver:boolean}|{won:false, winnerSid:string|null, state:string}>}
 */
async function claim(client, { serviceSid, taskSid, deadline, log, now = Date.now }) {
  const what = `claiming the ledger for ${taskSid}`;
  const owner = newOwner();
  const data = () => ({ state: 'claimed', owner, claimedAt: now() });
  const create = () => withRetry(() => itemsOf(client, serviceSid).create({ key: taskSid, data: data(), itemTtl: ITEM_TTL_S }), { deadline, what });
  try {
    return { won: true, item: await create(), takenOver: false };
  } catch (err) {
    if (err.code === 54200 || statusOf(err) === 404) {
      // First use on this Sync service: make the map, then claim.
      await ensureMap(client, { serviceSid, deadline });
      try {
        return { won: true, item: await create(), takenOver: false };
      } catch (again) {
        if (!(again.code === 54208 || statusOf(again) === 409)) throw mapTwilioError(again, what);
      }
    } else if (!(err.code === 54208 || statusOf(err) === 409)) {
      throw mapTwilioError(err, what);
    }
  }
  const item = await fetchItem(client, { serviceSid, taskSid, deadline });
  if (!item) {
    // Expired or deleted between our create and fetch: one more claim attempt.
    try {
      return { won: true, item: await create(), takenOver: false };
    } catch (err) {
      if (err.code === 54208 || statusOf(err) === 409) return { won: false, winnerSid: null, state: 'claimed' };
      throw mapTwilioError(err, what);
    }
  }
  const held = item.data || {};
  if (typeof held.mosTaskSid === 'string') return { won: false, winnerSid: held.mosTaskSid, state: held.state || 'created', claimedAt: Number(held.claimedAt) };
  // Our own create, committed by Sync but answered with an error and retried: we won.
  if (held.owner === owner) return { won: true, item, takenOver: false };
  const claimedAt = Number(held.claimedAt);
  if (!Number.isFinite(claimedAt) || now() - claimedAt > STALE_AFTER_MS) {
    const taken = await takeOver(client, { serviceSid, taskSid, deadline }, item, data());
    if (taken) {
      if (log) log.warn(`ledger: took over a stale claim for ${taskSid} (claimed ${Number.isFinite(claimedAt) ? Math.round((now() - claimedAt) / 1000) + ' s ago' : 'at an unknown time'}, never recorded)`);
      return { won: true, item: taken, takenOver: true };
    }
  }
  return { won: false, winnerSid: null, state: 'claimed', claimedAt };
}

/**
 * Stores the winner's MOS task SID in its claim. A 412 means the claim was
 * taken over meanwhile (this writer was presumed dead): logged, not thrown.
 * @returns {Promise<object|null>} the updated item, or null after a 412
 */
async function record(client, { serviceSid, taskSid, deadline, log, item }, mosTaskSid, state = 'created') {
  const data = { ...(item && item.data), state, mosTaskSid };
  try {
    return await withRetry(() => itemsOf(client, serviceSid)(taskSid).update({ data, ...(item && item.revision ? { ifMatch: item.revision } : {}) }), { deadline, what: `recording MOS task ${mosTaskSid} in the ledger` });
  } catch (err) {
    if (statusOf(err) === 412) {
      if (log) log.warn(`ledger: claim for ${taskSid} changed before MOS task ${mosTaskSid} was recorded`);
      return null;
    }
    throw mapTwilioError(err, `recording MOS task ${mosTaskSid} in the ledger`);
  }
}

/** The two-decimal text of a MOS number (the slot's conversation_attribute_N). */
function mosText(x) {
  return round2(x).toFixed(2);
}

/** The longest conversation_id a MOS task takes over from its original task. */
const CONVERSATION_ID_MAX = 128;
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The conversation the MOS task joins: the original task's own
 * conversations.conversation_id when it is a plain short string, else the task SID.
 */
function conversationIdOr(conversationId, taskSid) {
  const ok = typeof conversationId === 'string' && conversationId.trim() !== '' &&
    conversationId.length <= CONVERSATION_ID_MAX && !CONTROL_CHARS.test(conversationId);
  return ok ? conversationId : taskSid;
}

/**
 * The MOS task's attributes, built by the server only. Every value is of
 * bounded size (SIDs, a conversation id of at most 128 characters, numbers
 * range-checked by the callers, an enum), so the JSON is under ~800 bytes
 * whatever the original task carried: far below TaskRouter's 16 KiB limit by
 * construction. See docs/contract.md.
 * @param {{ taskSid: string, slot: number, summary: { average:number, minimum:number, poorShare:number, samples:number, source:string }, conversationId?: string }} p
 * @returns {{ attributes: object, json: string }}
 */
function buildMosTaskAttributes({ taskSid, slot, summary, conversationId = taskSid }) {
  const average = round2(summary.average);
  const attributes = {
    conversations: {
      conversation_id: conversationIdOr(conversationId, taskSid),
      virtual: 'Yes',
      [`conversation_attribute_${slot}`]: mosText(average),
      [`conversation_measure_${slot}`]: average,
    },
    [MARKER_KEY]: taskSid,
    mos_score: {
      average,
      minimum: round2(summary.minimum),
      poorShare: round2(summary.poorShare),
      samples: summary.samples,
      source: summary.source,
    },
  };
  const json = JSON.stringify(attributes);
  if (Buffer.byteLength(json) > ATTRIBUTES_MAX_BYTES) throw new HttpError(500, 'internal_error', 'MOS task attributes over the TaskRouter limit');
  return { attributes, json };
}

function tasksOf(client, workspaceSid) {
  return client.taskrouter.v1.workspaces(workspaceSid).tasks;
}

/** Cancels a MOS task if it can still be cancelled; an already cancelled (or completed) task is success. */
async function cancelTask(client, { workspaceSid, deadline, log }, task) {
  const tasks = tasksOf(client, workspaceSid);
  if (task.assignmentStatus === 'canceled' || task.assignmentStatus === 'completed') return;
  if (!CANCELLABLE.has(task.assignmentStatus)) {
    if (log) log.warn(`MOS task ${task.sid} is ${task.assignmentStatus}: the workflow routed it to an agent; see docs/functions.md`);
    return;
  }
  const what = `cancelling MOS task ${task.sid}`;
  try {
    await withRetry(() => tasks(task.sid).update({ assignmentStatus: 'canceled', reason: CANCEL_REASON }), { deadline, what });
  } catch (err) {
    // A concurrent canceller won: "cannot move from canceled to canceled" is a 400; check the task itself.
    if (statusOf(err) === 400) {
      const now = await withRetry(() => tasks(task.sid).fetch(), { deadline, what }).catch(() => null);
      if (now && (now.assignmentStatus === 'canceled' || now.assignmentStatus === 'completed')) return;
    }
    throw mapTwilioError(err, what);
  }
}

/** The MOS task already made for `taskSid` (marker search; only on the rare takeover/uncertain paths), or null. */
async function findMosTask(client, { workspaceSid, taskSid, deadline }) {
  const tasks = tasksOf(client, workspaceSid);
  const what = `looking for an earlier MOS task for ${taskSid}`;
  try {
    const found = await withRetry(() => tasks.page({ evaluateTaskAttributes: `${MARKER_KEY} == "${taskSid}"`, pageSize: 20 }), { deadline, what });
    if (found.instances.length === 0) return null;
    return await withRetry(() => tasks(found.instances[0].sid).fetch(), { deadline, what });
  } catch (err) {
    throw mapTwilioError(err, what);
  }
}

/** Deletes our claim (If-Match on its revision) after a certain failure; errors are only logged. */
async function release(client, { serviceSid, taskSid, deadline, log, item }) {
  try {
    await withRetry(() => itemsOf(client, serviceSid)(taskSid).remove({ ifMatch: item.revision }), { deadline, what: `releasing the ledger claim for ${taskSid}` });
  } catch (err) {
    if (log) log.warn(`ledger: could not release the claim for ${taskSid} (${err.code || err.status || 'error'}); it is taken over after ${STALE_AFTER_MS / 1000} s`);
  }
}

/** The loser's path: the winner's MOS task SID, waiting briefly for it to be recorded. */
async function awaitWinner(client, ctx, first) {
  const { serviceSid, taskSid, deadline, workspaceSid, log } = ctx;
  let seen = first;
  const waitUntil = Math.min(Date.now() + LOSER_WAIT_MS, deadline - 2500);
  // Wait for 'done' (created and cancelled). A winner SID alone is enough once the wait is over,
  // or at once when the winner's claim is older than any live Function (Twilio stops them at 10 s).
  const winnerGone = () => seen.winnerSid && !(Date.now() - seen.claimedAt < WINNER_LIFE_MS);
  while (seen.state !== 'done' && !winnerGone() && Date.now() + LOSER_POLL_MS < waitUntil) {
    await sleep(LOSER_POLL_MS);
    const item = await fetchItem(client, { serviceSid, taskSid, deadline });
    const data = (item && item.data) || {};
    if (typeof data.mosTaskSid === 'string') seen = { winnerSid: data.mosTaskSid, state: data.state, claimedAt: Number(data.claimedAt) };
    else if (!item) break; // released after a failure: the caller retries and may win
  }
  if (!seen.winnerSid) {
    throw new HttpError(503, 'in_progress', `Another request is writing the MOS task for ${taskSid}; retry`);
  }
  if (seen.state !== 'done') {
    // The winner may have died between create and cancel: make sure its task is cancelled.
    const task = await withRetry(() => tasksOf(client, workspaceSid)(seen.winnerSid).fetch(), { deadline, what: `reading MOS task ${seen.winnerSid}` }).catch((err) => {
      if (statusOf(err) === 404) return null; // TaskRouter deleted it 5 min after cancel: done long ago
      throw mapTwilioError(err, `reading MOS task ${seen.winnerSid}`);
    });
    if (task) await cancelTask(client, { workspaceSid, deadline, log }, task);
  }
  return { sid: seen.winnerSid, created: false };
}

/**
 * claim -> create -> record -> cancel -> record done. The one way a MOS task is written.
 * @returns {Promise<{ sid: string, created: boolean }>}
 */
async function writeMosTask(client, { serviceSid, workspaceSid, workflowSid, channel, taskSid, slot, summary, conversationId, deadline, log }) {
  // conversationId: a string, or an async function giving it (called only by the claim's winner).
  const ctx = { serviceSid, taskSid, deadline, log, workspaceSid };
  const claimed = await claim(client, ctx);
  if (!claimed.won) return awaitWinner(client, ctx, claimed);

  const tasks = tasksOf(client, workspaceSid);
  let task = null;
  if (claimed.takenOver) {
    // The dead writer may have created the task before dying: find it rather than make a second one.
    task = await findMosTask(client, { workspaceSid, taskSid, deadline });
  }
  let created = false;
  if (!task) {
    // A function is asked only here, by the writer that won the claim.
    const cid = typeof conversationId === 'function' ? await conversationId() : conversationId;
    const { json } = buildMosTaskAttributes({ taskSid, slot, summary, conversationId: cid });
    const what = `creating the MOS task for ${taskSid}`;
    try {
      task = await withRetry(async () => {
        try {
          return await tasks.create({ workflowSid, taskChannel: channel, attributes: json });
        } catch (err) {
          // A 5xx or a lost connection may hide a committed create: never retried blindly.
          if (!(statusOf(err) >= 400 && statusOf(err) < 500)) err.noRetry = true;
          throw err;
        }
      }, { deadline, what });
      created = true;
    } catch (err) {
      const uncertain = !(statusOf(err) >= 400 && statusOf(err) < 500);
      if (uncertain) task = await findMosTask(client, { workspaceSid, taskSid, deadline }).catch(() => null);
      if (!task) {
        // Certain failure: free the claim so a retry can write at once. Uncertain: keep it;
        // it is taken over after STALE_AFTER_MS, and the taker searches again.
        if (!uncertain) await release(client, { ...ctx, item: claimed.item });
        throw mapTwilioError(err, what);
      }
      created = true;
    }
  }
  // Cancel only what the ledger knows: TaskRouter deletes a cancelled task 5 minutes after it
  // ends, and then no marker search can find it. An unrecorded task stays pending (searchable);
  // the claim stays 'claimed', so the takeover after STALE_AFTER_MS finds it, records it and
  // cancels it. The caller gets 503 and retries.
  const recorded = await record(client, { ...ctx, item: claimed.item }, task.sid, 'created').catch((err) => {
    if (log) log.warn(`ledger: could not record MOS task ${task.sid} for ${taskSid} (${err.code || 'error'}); left pending, it is found by its marker later`);
    return null;
  });
  if (!recorded) {
    throw new HttpError(503, 'in_progress', `The MOS task for ${taskSid} was created but not yet recorded; retry`);
  }
  await cancelTask(client, { workspaceSid, deadline, log }, task);
  await record(client, { ...ctx, item: recorded }, task.sid, 'done').catch((err) => log && log.warn(`ledger: could not mark ${taskSid} done (${err.code || 'error'}); a later request re-checks the cancel`));
  return { sid: task.sid, created };
}

module.exports = {
  claim,
  record,
  buildMosTaskAttributes,
  writeMosTask,
  syncServiceSid,
  taskChannel,
  MAP_NAME,
  STALE_AFTER_MS,
  ATTRIBUTES_MAX_BYTES,
  CONVERSATION_ID_MAX,
  conversationIdOr,
};
