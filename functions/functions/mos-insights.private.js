'use strict';
/**
 * The one Voice Insights read of a call's MOS, shared by get_mos_score (the
 * plugin asks) and mos_events (server mode): Call Metrics with Edge=sdk_edge
 * and PageSize=1000 (the documented maximum: ~2.7 h of 10 s samples in one
 * request), following next_page_url, folded into mos-summary's accumulator
 * (the one rounding rule).
 */
const { HttpError, withRetry, mapTwilioError, REQUEST_TIMEOUT_MS } = require(Runtime.getFunctions()['mos-twilio'].path);
const { createAccumulator } = require(Runtime.getFunctions()['mos-summary'].path);

const PAGE_SIZE = 1000;
const MAX_PAGES = 20;

/**
 * @param {object} client a `twilio` helper client (mos-twilio createClient)
 * @param {string} callSid the agent's call leg, already validated
 * @param {{ deadline: number }} opts epoch ms by which Twilio calls must stop
 * @returns {Promise<null|{average, minimum, poorShare, samples, source}>} null: no usable sdk_edge MOS sample
 * @throws HttpError (mapTwilioError: call_not_found, advanced_features_required, rate_limited, twilio_error, timeout)
 */
async function summariseCall(client, callSid, { deadline }) {
  const what = `reading Voice Insights for call ${callSid}`;
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
    throw mapTwilioError(err, what, { notFound: ['call_not_found', `Twilio has no call ${callSid}`] });
  }
  return acc.result();
}

module.exports = { summariseCall, PAGE_SIZE };
