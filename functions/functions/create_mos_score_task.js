'use strict';
/**
 * POST /create_mos_score_task
 *   { Token, TaskSid, CallSid, AttributeSlot?, Average, Minimum, PoorShare, Samples, Source, Proof? }
 *   -> 200 { sid, created }
 *
 * Source "voice-insights": Proof (from get_mos_score) must verify for this
 * worker, task, call and numbers; it also stands for the authorisation done
 * when it was issued. Source "sdk" (the live MOS the browser measured): the
 * authorisation is checked here (mos-auth.private.js).
 *
 * The server builds the MOS task's attributes itself
 * (mos-ledger buildMosTaskAttributes): nothing else from the client reaches
 * TaskRouter. The task is created in WORKSPACE_SID via WORKFLOW_SID on
 * TaskChannel TASK_CHANNEL (default "mos_score") and cancelled at once, exactly
 * once per original task through the Sync ledger (mos-ledger writeMosTask).
 */
const { wrap } = require(Runtime.getFunctions()['mos-http'].path);
const { parseCreateRequest } = require(Runtime.getFunctions()['mos-validate'].path);
const { createClient, withRetry, statusOf, mapTwilioError } = require(Runtime.getFunctions()['mos-twilio'].path);
const { authorize, verifyProof } = require(Runtime.getFunctions()['mos-auth'].path);
const { writeMosTask, syncServiceSid, taskChannel, conversationIdOr } = require(Runtime.getFunctions()['mos-ledger'].path);

/**
 * The conversation the MOS task joins (docs/contract.md): the original task's
 * own conversations.conversation_id (the plugin keeps an existing one), else
 * the task SID, also once TaskRouter has deleted the task.
 */
async function originalConversationId(client, { workspaceSid, taskSid, deadline }) {
  const what = `reading the conversation of ${taskSid}`;
  try {
    const task = await withRetry(() => client.taskrouter.v1.workspaces(workspaceSid).tasks(taskSid).fetch(), { deadline, what });
    let attributes = {};
    try {
      attributes = JSON.parse(task.attributes || '{}') || {};
    } catch (e) {
      attributes = {};
    }
    return conversationIdOr(attributes.conversations && attributes.conversations.conversation_id, taskSid);
  } catch (err) {
    if (statusOf(err) === 404) return taskSid;
    throw mapTwilioError(err, what);
  }
}

exports.handler = wrap({
  name: 'create_mos_score_task',
  requiredEnv: [['WORKSPACE_SID', /^WS[0-9a-fA-F]{32}$/], ['WORKFLOW_SID', /^WW[0-9a-fA-F]{32}$/]],
  parse: parseCreateRequest,
  handler: async (context, { taskSid, callSid, slot, summary, proof }, { deadline, log, identity }) => {
    const serviceSid = syncServiceSid(context);
    const channel = taskChannel(context);
    const client = createClient(context);
    if (summary.source === 'voice-insights') {
      verifyProof(context, proof, { principal: identity.principal, taskSid, callSid, summary });
    } else {
      await authorize(client, { workspaceSid: context.WORKSPACE_SID, identity, taskSid, deadline });
    }
    const workspaceSid = context.WORKSPACE_SID;
    return writeMosTask(client, {
      serviceSid, workspaceSid, workflowSid: context.WORKFLOW_SID, channel, taskSid, slot, summary, deadline, log,
      conversationId: () => originalConversationId(client, { workspaceSid, taskSid, deadline }),
    });
  },
});
