'use strict';
/**
 * Plays Event Streams' webhook sink delivery for the tests, the demo and the
 * bench: a JSON array of CloudEvents POSTed to the sink URL with `bodySHA256`
 * (hex SHA-256 of the body) appended to its query string, and
 * X-Twilio-Signature = base64 HMAC-SHA1(auth token, that full URL), computed
 * with the real `twilio` helper's getExpectedTwilioSignature / getExpectedBodyHash.
 *
 *   const { cloudEvents, signedDelivery, runtimeEvent, post } = require('./event-streams');
 *   const batch = [cloudEvents.task({ id, taskSid, workerLeg }), cloudEvents.summary({ id, callSid })];
 *   const d = signedDelivery(batch, { sinkUrl: 'https://x.twil.io/mos_events', authToken });
 *   // d = { url, body, headers }; runtimeEvent(d) is the `event` Twilio Functions hand the handler
 *   await post(`${fns.url}/mos_events`, d)   // over HTTP (twilio-run), same headers and bytes
 */
const fs = require('fs');
const http = require('http');
const path = require('path');
const { getExpectedTwilioSignature, getExpectedBodyHash } = require('twilio/lib/webhooks/webhooks');

const FIXTURES = path.resolve(__dirname, '../../../fixtures/cloudevents');
const readJson = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));

/** CloudEvents built from the fixtures (documented shapes), with the ids and SIDs a test needs. */
const cloudEvents = {
  /** com.twilio.taskrouter.task.wrapup (schema 4: fields under data.payload) */
  task({ id, taskSid, workerLeg, type = 'com.twilio.taskrouter.task.wrapup', channel = 'voice', attributes } = {}) {
    const ce = readJson('task-wrapup.json');
    const p = ce.data.payload;
    if (id) ce.id = ce.data.sid = p.sid = id;
    ce.type = type;
    p.eventtype = type.replace('com.twilio.taskrouter.', '');
    if (taskSid) p.task_sid = p.resource_sid = taskSid;
    p.task_channel_unique_name = channel;
    const attrs = attributes || JSON.parse(p.task_attributes);
    if (workerLeg !== undefined && attrs.conference) {
      if (workerLeg === null) delete attrs.conference.participants.worker;
      else attrs.conference.participants.worker = workerLeg;
    }
    p.task_attributes = JSON.stringify(attrs);
    return ce;
  },
  /** com.twilio.voice.insights.call-summary.predicted-complete (or .complete) */
  summary({ id, callSid, type = 'com.twilio.voice.insights.call-summary.predicted-complete' } = {}) {
    const ce = readJson('call-summary-predicted-complete.json');
    if (id) ce.id = id;
    ce.type = type;
    if (callSid) {
      ce.data.call_sid = callSid;
      ce.source = `/v1/Voice/${callSid}/Summary`;
    }
    return ce;
  },
};

/**
 * @param {object[]|object} batch what Event Streams posts (an array of CloudEvents)
 * @returns {{ url: string, body: string, headers: object }}
 */
function signedDelivery(batch, { sinkUrl, authToken, tamper } = {}) {
  const body = JSON.stringify(batch);
  const url = `${sinkUrl}${sinkUrl.includes('?') ? '&' : '?'}bodySHA256=${getExpectedBodyHash(body)}`;
  const signature = getExpectedTwilioSignature(authToken, url, {});
  const headers = { 'content-type': 'application/json', 'x-twilio-signature': signature, 'i-twilio-idempotency-token': 'ignored' };
  return { url, body: tamper ? tamper(body) : body, headers };
}

/**
 * The `event` a Function receives for this delivery, as @twilio/runtime-handler
 * builds it: { request: { headers, cookies }, ...query, ...parsedBody }.
 */
function runtimeEvent({ url, body, headers }) {
  const query = Object.fromEntries(new URL(url).searchParams);
  let parsed;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = {};
  }
  return { request: { headers: { ...headers }, cookies: {} }, ...query, ...parsed };
}

/** POSTs the delivery to a served Function; resolves { status, body }. */
function post(functionUrl, { url, body, headers }) {
  const target = new URL(functionUrl);
  target.search = new URL(url).search;
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode, body: json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

module.exports = { cloudEvents, signedDelivery, runtimeEvent, post, FIXTURES };
