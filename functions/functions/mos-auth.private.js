'use strict';
/**
 * Who may read or record the MOS of a task, and the proof that a summary is
 * the server's own.
 *
 * authorize(): the token's worker handled the task, or the token is a
 * supervisor's/admin's. "Handled" = TaskRouter shows a reservation of this
 * worker on the task that was accepted:
 *   1. while the task exists: its Reservations, filtered by WorkerSid, with
 *      status accepted, wrapping or completed (one request);
 *   2. once TaskRouter has deleted the task (it does so 5 minutes after the
 *      task is completed or cancelled, and the reservations go with it): the
 *      workspace Events list, filtered by TaskSid + WorkerSid +
 *      EventType=reservation.accepted over the last EVIDENCE_WINDOW_MIN
 *      minutes. TaskRouter keeps Events for 30 days, so a plugin job that
 *      resumes 24 h later is still authorised. Sources: docs/functions.md.
 * Anything else: 403 not_your_task.
 *
 * Proof: get_mos_score returns `proof` = "v1.<expiry, base36 s>.<HMAC-SHA256,
 * base64url>" over (worker, task, call, the four numbers as sent back, expiry).
 * create_mos_score_task recomputes it; a valid proof also stands for the
 * authorisation done when it was issued (it names the worker), so no second
 * TaskRouter look-up is needed. Secret: MOS_PROOF_SECRET, else one derived
 * from AUTH_TOKEN (rotating AUTH_TOKEN invalidates outstanding proofs; the
 * plugin then asks get_mos_score again).
 */
const crypto = require('crypto');
const { HttpError, withRetry, statusOf, mapTwilioError } = require(Runtime.getFunctions()['mos-twilio'].path);

const PRIVILEGED_ROLES = ['supervisor', 'admin'];
const HANDLED = new Set(['accepted', 'wrapping', 'completed']);
/** 7 days: covers a long call plus the plugin's 24 h job lifetime; TaskRouter keeps Events 30 days. */
const EVIDENCE_WINDOW_MIN = 7 * 24 * 60;
const PROOF_TTL_S = 48 * 3600;

/** The identity a proof is bound to: the worker, or (for a supervisor without a worker) the user. */
function principalOf(identity) {
  return identity.workerSid || `user:${identity.userId || identity.identity || ''}`;
}

function notYours(taskSid) {
  return new HttpError(403, 'not_your_task', `This token's worker did not handle task ${taskSid}`);
}

/**
 * @param {object} client twilio helper client
 * @param {{ workspaceSid:string, identity:{workerSid?:string, roles:string[]}, taskSid:string, deadline:number }} p
 * @returns {Promise<'role'|'reservation'|'event'>} how it was decided; throws 403 not_your_task otherwise
 */
async function authorize(client, { workspaceSid, identity, taskSid, deadline }) {
  if (identity.roles.some((r) => PRIVILEGED_ROLES.includes(r))) return 'role';
  const workerSid = identity.workerSid;
  if (!workerSid) throw notYours(taskSid);
  const ws = client.taskrouter.v1.workspaces(workspaceSid);
  const what = `checking that worker ${workerSid} handled task ${taskSid}`;
  try {
    const page = await withRetry(() => ws.tasks(taskSid).reservations.page({ workerSid, pageSize: 50 }), { deadline, what });
    if (page.instances.some((r) => r.workerSid === workerSid && HANDLED.has(r.reservationStatus))) return 'reservation';
    throw notYours(taskSid);
  } catch (err) {
    if (!(statusOf(err) === 404)) throw mapTwilioError(err, what);
  }
  // The task is gone (deleted 5 min after it ended): its Events stay for 30 days.
  try {
    const events = await withRetry(() => ws.events.page({ taskSid, workerSid, eventType: 'reservation.accepted', minutes: EVIDENCE_WINDOW_MIN, pageSize: 20 }), { deadline, what });
    if (events.instances.some((e) => e.eventType === 'reservation.accepted')) return 'event';
  } catch (err) {
    throw mapTwilioError(err, what);
  }
  throw notYours(taskSid);
}

/** MOS_PROOF_SECRET (at least 32 characters), else derived from AUTH_TOKEN. */
function proofKey(context) {
  const own = typeof context.MOS_PROOF_SECRET === 'string' ? context.MOS_PROOF_SECRET : '';
  if (own !== '') {
    if (own.length < 32) throw new HttpError(500, 'internal_error', 'Environment variable MOS_PROOF_SECRET must be at least 32 characters');
    return own;
  }
  return crypto.createHmac('sha256', String(context.AUTH_TOKEN)).update('mos-score proof key v1').digest();
}

function proofText({ principal, taskSid, callSid, summary }, expiry) {
  const f = (x) => x.toFixed(2);
  return ['v1', principal, taskSid, callSid, f(summary.average), f(summary.minimum), f(summary.poorShare), String(summary.samples), String(expiry)].join('|');
}

function mac(key, text) {
  return crypto.createHmac('sha256', key).update(text).digest('base64url');
}

/** @returns {string} the opaque proof for this worker/task/call/summary */
function signProof(context, fields, now = Date.now()) {
  const expiry = Math.floor(now / 1000) + PROOF_TTL_S;
  return `v1.${expiry.toString(36)}.${mac(proofKey(context), proofText(fields, expiry))}`;
}

/** Throws 400 invalid_proof unless `proof` was issued by signProof for exactly these fields and has not expired. */
function verifyProof(context, proof, fields, now = Date.now()) {
  const [, exp36, given] = String(proof).split('.');
  const expiry = parseInt(exp36, 36);
  const bad = new HttpError(400, 'invalid_proof', 'Proof does not match this worker, task, call and MOS summary, or has expired: ask get_mos_score again', { field: 'Proof' });
  if (!Number.isSafeInteger(expiry) || expiry * 1000 < now) throw bad;
  const want = Buffer.from(mac(proofKey(context), proofText(fields, expiry)));
  const got = Buffer.from(String(given));
  if (want.length !== got.length || !crypto.timingSafeEqual(want, got)) throw bad;
}

module.exports = { authorize, signProof, verifyProof, principalOf, EVIDENCE_WINDOW_MIN, PROOF_TTL_S };
