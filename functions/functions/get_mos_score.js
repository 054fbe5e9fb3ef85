'use strict';
/**
 * POST /get_mos_score  { Token, CallSid }  ->  200 { average, minimum, poorShare, samples, source }
 *
 * Lists the call's Voice Insights metrics for Edge=sdk_edge with PageSize=1000
 * (the documented maximum: ~2.7 h of 10 s samples in one request), following
 * next_page_url, and summarises the usable MOS samples. See docs/contract.md.
 */
const { wrap, HttpError } = require(Runtime.getFunctions()['mos-http'].path);
const { parseCallSid } = require(Runtime.getFunctions()['mos-validate'].path);
const { createClient, withRetry, statusOf, REQUEST_TIMEOUT_MS } = require(Runtime.getFunctions()['mos-twilio'].path);
const { createAccumulator } = require(Runtime.getFunctions()['mos-summary'].path);

const PAGE_SIZE = 1000;
const MAX_PAGES = 20;

function mapInsightsError(err, callSid) {
  if (err instanceof HttpError) return err;
  const code = err && err.code;
  if (code === 17000 || code === 17007) {
    return new HttpError(
      403,
      'advanced_features_required',
      `Voice Insights Advanced Features are not enabled on this Twilio account (Twilio error ${code}), so call ${callSid} has no metrics to read. ` +
        'Enable "Voice Insights Advanced Features" in the Twilio Console (Voice > Settings > General), then retry.',
      { twilioCode: code },
    );
  }
  if (code === 20404 || statusOf(err) === 404) {
    return new HttpError(404, 'call_not_found', `Twilio has no call ${callSid} (Twilio error ${code || 404})`, { twilioCode: code || 20404 });
  }
  if (code === 20003 || statusOf(err) === 401) {
    return new HttpError(500, 'internal_error', 'Twilio rejected ACCOUNT_SID/AUTH_TOKEN (Twilio error 20003): check those environment variables');
  }
  if (statusOf(err) === 429) {
    return new HttpError(429, 'rate_limited', `Twilio kept answering 429 for call ${callSid} after ${err.attempts || 1} attempts`, { twilioCode: code || 20429 });
  }
  const what = statusOf(err) !== undefined ? `HTTP ${statusOf(err)}` : `network error ${err && (err.code || err.message)}`;
  return new HttpError(502, 'twilio_error', `Voice Insights request for call ${callSid} failed: ${what}${err && err.message ? ` (${err.message})` : ''}`, {
    twilioCode: typeof code === 'number' ? code : null,
  });
}

exports.handler = wrap({
  name: 'get_mos_score',
  handler: async (context, event, { deadline }) => {
    const callSid = parseCallSid(event.CallSid);
    const metrics = createClient(context).insights.v1.calls(callSid).metrics;
    const acc = createAccumulator();
    try {
      let page = await withRetry(() => metrics.page({ edge: 'sdk_edge', pageSize: PAGE_SIZE }), { deadline });
      acc.add(page.instances);
      for (let n = 1; page.nextPageUrl; n += 1) {
        if (n >= MAX_PAGES || Date.now() + REQUEST_TIMEOUT_MS > deadline) {
          throw new HttpError(502, 'twilio_error', `Voice Insights for call ${callSid} needs more than ${n} pages or more time than the Function has`, { twilioCode: null });
        }
        const previous = page;
        page = await withRetry(() => previous.nextPage(), { deadline });
        acc.add(page.instances);
      }
    } catch (err) {
      throw mapInsightsError(err, callSid);
    }
    const summary = acc.result();
    if (!summary) {
      throw new HttpError(404, 'not_ready', `No usable sdk_edge MOS sample yet for call ${callSid}; retry later`);
    }
    return summary;
  },
});

exports.mapInsightsError = mapInsightsError;
