'use strict';
/**
 * POST /create_mos_score_task  { Token, OriginalTaskSid, Attributes, AttributeSlot? }  ->  200 { sid, created }
 *
 * Creates the MOS task in WORKSPACE_SID via WORKFLOW_SID on TaskChannel
 * TASK_CHANNEL (default "mos_score") and cancels it at once (Reason "MOS score
 * recorded") so it never rings an agent, while Flex Insights still records it.
 *
 * Idempotency: every MOS task carries the top-level attribute
 * `mos_score_for: "<OriginalTaskSid>"`, and before creating we list tasks with
 * EvaluateTaskAttributes `mos_score_for == "<OriginalTaskSid>"`. A match is
 * returned as { sid, created: false } (and cancelled if an earlier run could
 * not). TaskRouter deletes a cancelled task five minutes after it is
 * cancelled (https://www.twilio.com/docs/taskrouter/lifecycle-task-state), so
 * the guarantee holds for about five minutes after the first success. Two
 * concurrent first calls can still both create (there is no compare-and-set).
 */
const { wrap, HttpError } = require(Runtime.getFunctions()['mos-http'].path);
const { parseTaskSid, parseAttributes, parseSlot, WORKSPACE_SID, WORKFLOW_SID, MARKER_KEY } = require(Runtime.getFunctions()['mos-validate'].path);
const { createClient, withRetry, statusOf } = require(Runtime.getFunctions()['mos-twilio'].path);

const DEFAULT_TASK_CHANNEL = 'mos_score';
const CANCEL_REASON = 'MOS score recorded';
const CANCELLABLE = new Set(['pending', 'reserved']);

/** The EvaluateTaskAttributes expression; the SID is regex-checked, so quoting is safe. */
function idempotencyExpression(originalTaskSid) {
  return `${MARKER_KEY} == "${originalTaskSid}"`;
}

function mapTaskRouterError(err, step, originalTaskSid) {
  if (err instanceof HttpError) return err;
  const code = err && err.code;
  if (code === 20003 || statusOf(err) === 401) {
    return new HttpError(500, 'internal_error', 'Twilio rejected ACCOUNT_SID/AUTH_TOKEN (Twilio error 20003): check those environment variables');
  }
  if (statusOf(err) === 429) {
    return new HttpError(429, 'rate_limited', `TaskRouter kept answering 429 while ${step} for ${originalTaskSid} after ${err.attempts || 1} attempts`, { twilioCode: code || 20429 });
  }
  const what = statusOf(err) !== undefined ? `HTTP ${statusOf(err)}` : `network error ${err && (err.code || err.message)}`;
  return new HttpError(502, 'twilio_error', `TaskRouter failed while ${step} for ${originalTaskSid}: ${what}${err && err.message ? ` (${err.message})` : ''}`, {
    twilioCode: typeof code === 'number' ? code : null,
  });
}

exports.handler = wrap({
  name: 'create_mos_score_task',
  requiredEnv: [['WORKSPACE_SID', WORKSPACE_SID], ['WORKFLOW_SID', WORKFLOW_SID]],
  handler: async (context, event, { deadline, log }) => {
    const originalTaskSid = parseTaskSid(event.OriginalTaskSid);
    const slot = parseSlot(event.AttributeSlot);
    const { json } = parseAttributes(event.Attributes, originalTaskSid, slot);
    const channel = typeof context.TASK_CHANNEL === 'string' && context.TASK_CHANNEL.trim() ? context.TASK_CHANNEL.trim() : DEFAULT_TASK_CHANNEL;
    const tasks = createClient(context).taskrouter.v1.workspaces(context.WORKSPACE_SID).tasks;

    let step = 'looking up or creating the MOS task';
    try {
      // Each attempt searches first, so a create that Twilio committed but
      // answered with a 5xx/timeout is found instead of duplicated.
      const { task, created } = await withRetry(async () => {
        const found = await tasks.page({ evaluateTaskAttributes: idempotencyExpression(originalTaskSid), pageSize: 20 });
        if (found.instances.length > 0) return { task: found.instances[0], created: false };
        const fresh = await tasks.create({ workflowSid: context.WORKFLOW_SID, taskChannel: channel, attributes: json });
        return { task: fresh, created: true };
      }, { deadline });

      if (CANCELLABLE.has(task.assignmentStatus)) {
        step = `cancelling MOS task ${task.sid}`;
        await withRetry(() => tasks(task.sid).update({ assignmentStatus: 'canceled', reason: CANCEL_REASON }), { deadline });
      } else if (task.assignmentStatus !== 'canceled' && task.assignmentStatus !== 'completed') {
        log.warn(`MOS task ${task.sid} for ${originalTaskSid} is ${task.assignmentStatus}: the workflow routed it to an agent; see docs/functions.md`);
      }
      return { sid: task.sid, created };
    } catch (err) {
      throw mapTaskRouterError(err, step, originalTaskSid);
    }
  },
});

exports.idempotencyExpression = idempotencyExpression;
exports.mapTaskRouterError = mapTaskRouterError;
