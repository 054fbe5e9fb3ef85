'use strict';
/**
 * POST /get_mos_score  { Token, TaskSid, CallSid }
 *   -> 200 { average, minimum, poorShare, samples, source: "voice-insights", proof }
 *
 * Only for the worker who handled TaskSid (or a supervisor/admin): see
 * mos-auth.private.js. The MOS is read and summarised by mos-insights (Call
 * Metrics, Edge=sdk_edge, PageSize=1000, next_page_url followed), the same
 * read server mode (mos_events) uses. `proof` binds the summary to worker,
 * task and call for create_mos_score_task. See docs/contract.md.
 */
const { wrap } = require(Runtime.getFunctions()['mos-http'].path);
const { parseGetRequest } = require(Runtime.getFunctions()['mos-validate'].path);
const { HttpError, createClient } = require(Runtime.getFunctions()['mos-twilio'].path);
const { summariseCall } = require(Runtime.getFunctions()['mos-insights'].path);
const { authorize, signProof } = require(Runtime.getFunctions()['mos-auth'].path);

exports.handler = wrap({
  name: 'get_mos_score',
  requiredEnv: [['WORKSPACE_SID', /^WS[0-9a-fA-F]{32}$/]],
  parse: parseGetRequest,
  handler: async (context, { taskSid, callSid }, { deadline, identity }) => {
    const client = createClient(context);
    await authorize(client, { workspaceSid: context.WORKSPACE_SID, identity, taskSid, deadline });
    const summary = await summariseCall(client, callSid, { deadline });
    if (!summary) throw new HttpError(404, 'not_ready', `No usable sdk_edge MOS sample yet for call ${callSid}; retry later`);
    return { ...summary, proof: signProof(context, { principal: identity.principal, taskSid, callSid, summary }) };
  },
});
