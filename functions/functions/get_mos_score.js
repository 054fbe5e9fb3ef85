'use strict';
/**
 * POST /get_mos_score  { Token, TaskSid, CallSid }
 *   -> 200 { average, minimum, poorShare, samples, source: "voice-insights", proof }
 *
 * Only for the worker who handled TaskSid (or a supervisor/admin): see
 * mos-auth.private.js. Lists the call's Voice Insights metrics for
 * Edge=sdk_edge with PageSize=1000 (the documented maximum: ~2.7 h of 10 s
 * samples in one request), following next_page_url, and summarises the usable
 * MOS samples. `proof` binds the summary to worker, task and call for
 * create_mos_score_task. See docs/contract.md.
 */
const { wrap } = require(Runtime.getFunctions()['mos-http'].path);
const { parseGetRequest } = require(Runtime.getFunctions()['mos-validate'].path);
const { HttpError, createClient, withRetry, mapTwilioError, REQUEST_TIMEOUT_MS } = require(Runtime.getFunctions()['mos-twilio'].path);
const { createAccumulator } = require(Runtime.getFunctions()['mos-summary'].path);
const { authorize, signProof } = require(Runtime.getFunctions()['mos-auth'].path);

const PAGE_SIZE = 1000;
const MAX_PAGES = 20;

exports.handler = wrap({
  name: 'get_mos_score',
  requiredEnv: [['WORKSPACE_SID', /^WS[0-9a-fA-F]{32}$/]],
  parse: parseGetRequest,
  handler: async (context, { taskSid, callSid }, { deadline, identity }) => {
    const client = createClient(context);
    await authorize(client, { workspaceSid: context.WORKSPACE_SID, identity, taskSid, deadline });
    const what = `reading Voice Insights for call ${callSid}`;
    const notFound = ['call_not_found', `Twilio has no call ${callSid}`];
    const metrics = client.insights.v1.calls(callSid).metrics;
    const acc = createAccumulator();
    try {
      let page = await withRetry(() => metrics.page({ edge: 'sdk_edge', pageSize: PAGE_SIZE }), { deadline, what });
      acc.add(page.instances);
      for (let n = 1; page.nextPageUrl; n += 1) {
        if (n >= MAX_PAGES || Date.now() + REQUEST_TIMEOUT_MS > deadline) {
          throw new HttpError(502, 'twilio_error', `Voice Insights for call ${callSid} needs more than ${n} pages or more time than the Function has`, { twilioCode: null });
        }
        const previous = page;
        page = await withRetry(() => previous.nextPage(), { deadline, what });
        acc.add(page.instances);
      }
    } catch (err) {
      throw mapTwilioError(err, what, { notFound });
    }
    const summary = acc.result();
    if (!summary) throw new HttpError(404, 'not_ready', `No usable sdk_edge MOS sample yet for call ${callSid}; retry later`);
    return { ...summary, proof: signProof(context, { principal: identity.principal, taskSid, callSid, summary }) };
  },
});
