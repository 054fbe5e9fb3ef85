'use strict';
/**
 * Twilio REST calls with capped, jittered retry, kept inside the Function's
 * time budget, and the ONE mapping from Twilio errors to our contract errors.
 *
 * Budget: every answer leaves within ANSWER_BY_MS (7.5 s) of the invocation,
 * as our JSON, well before Twilio kills a Function at 10 s. The token check is
 * raced against 3 s (mos-http.private.js). Each Twilio request has a
 * REQUEST_TIMEOUT_MS (2 s) socket/request timeout, and EVERY attempt, the
 * first one included, starts only when one full request timeout (plus the
 * back-off sleep for a retry) still fits before the handler's deadline
 * (HANDLER_BUDGET_MS = 5.5 s): so the last attempt ends by 7.5 s at worst.
 * A watchdog in mos-http answers 503 `timeout` at ANSWER_BY_MS in any case.
 */
const twilio = require('twilio');

const HANDLER_BUDGET_MS = 5500;
const ANSWER_BY_MS = 7500;
const REQUEST_TIMEOUT_MS = 2000;
const MAX_ATTEMPTS = 4;
const BASE_DELAY_MS = 200;
const MAX_DELAY_MS = 1500;

const NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

class HttpError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {string} code contract error code (docs/contract.md)
   * @param {string} message human readable, names the field or SID; never Twilio's or Node's own text
   * @param {object} [extra] more members of the error object, e.g. { twilioCode }
   */
  constructor(status, code, message, extra) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.extra = extra || {};
  }
}

/**
 * A fresh helper client per invocation, built from the Function's
 * ACCOUNT_SID / AUTH_TOKEN with the twilio 6.x package of this service (not
 * the runtime's bundled one). Built-in 429 auto-retry stays off: retries are
 * ours, so they are capped and counted against the deadline.
 */
function createClient(context) {
  return twilio(context.ACCOUNT_SID, context.AUTH_TOKEN, { timeout: REQUEST_TIMEOUT_MS, autoRetry: false });
}

/** HTTP status of a Twilio RestException, or undefined for network errors. */
function statusOf(err) {
  return err && typeof err.status === 'number' ? err.status : undefined;
}

/** 429, 5xx and transport failures (reset, timeout) are worth another try. */
function isRetryable(err) {
  if (err && err.noRetry) return false;
  const status = statusOf(err);
  if (status !== undefined) return status === 429 || status >= 500;
  return Boolean(err && (NETWORK_CODES.has(err.code) || /timeout/i.test(String(err.message))));
}

/**
 * Back-off before retry number `attempt` (1-based): exponential from
 * BASE_DELAY_MS, capped at MAX_DELAY_MS, with "equal jitter" (half fixed, half
 * random) so concurrent agents' Functions do not retry in lock-step.
 */
function retryDelayMs(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The error for "no time left for another Twilio request": 503 timeout, the plugin retries. */
function outOfTime(what) {
  return new HttpError(503, 'timeout', `Not enough time left to finish ${what}; retry`);
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, runs out of
 * attempts, or the next try would not fit before `deadline` (epoch ms). Every
 * attempt, the first included, needs one full REQUEST_TIMEOUT_MS before the
 * deadline. The last Twilio error is rethrown with `attempts` set on it.
 */
async function withRetry(fn, { deadline = Date.now() + HANDLER_BUDGET_MS, maxAttempts = MAX_ATTEMPTS, random = Math.random, what = 'the Twilio request' } = {}) {
  for (let attempt = 1; ; attempt += 1) {
    if (Date.now() + REQUEST_TIMEOUT_MS > deadline) throw outOfTime(what);
    try {
      return await fn(attempt);
    } catch (err) {
      const delay = retryDelayMs(attempt, random);
      const fits = Date.now() + delay + REQUEST_TIMEOUT_MS <= deadline;
      if (!isRetryable(err) || attempt >= maxAttempts || !fits) {
        if (err && typeof err === 'object') err.attempts = attempt;
        throw err;
      }
      await sleep(delay);
    }
  }
}

/**
 * The one Twilio error mapping for every Function.
 * @param {unknown} err what a Twilio call threw
 * @param {string} what what we were doing, e.g. "reading Voice Insights for call CA…"
 * @param {{ notFound?: [string, string] }} [opts] contract code and message for a 404 (default: 502 twilio_error)
 * @returns {HttpError}
 */
function mapTwilioError(err, what, { notFound } = {}) {
  if (err instanceof HttpError) return err;
  const code = err && typeof err.code === 'number' ? err.code : null;
  const status = statusOf(err);
  if (code === 17000 || code === 17007) {
    return new HttpError(
      403,
      'advanced_features_required',
      `Voice Insights Advanced Features are not enabled on this Twilio account (Twilio error ${code}). ` +
        'Enable "Voice Insights Advanced Features" in the Twilio Console (Voice > Settings > General), then retry.',
      { twilioCode: code },
    );
  }
  if (notFound && (code === 20404 || status === 404)) return new HttpError(404, notFound[0], notFound[1], { twilioCode: code || 20404 });
  if (code === 20003 || status === 401) {
    return new HttpError(500, 'internal_error', 'Twilio rejected ACCOUNT_SID/AUTH_TOKEN (Twilio error 20003): check those environment variables');
  }
  if (status === 429) {
    return new HttpError(429, 'rate_limited', `Twilio kept answering 429 while ${what} after ${(err && err.attempts) || 1} attempts`, { twilioCode: code || 20429 });
  }
  const how = status !== undefined ? `HTTP ${status}` : 'a network error';
  return new HttpError(502, 'twilio_error', `Twilio failed while ${what}: ${how}${code ? `, Twilio error ${code}` : ''}`, { twilioCode: code });
}

module.exports = {
  HttpError,
  createClient,
  withRetry,
  retryDelayMs,
  isRetryable,
  statusOf,
  mapTwilioError,
  HANDLER_BUDGET_MS,
  ANSWER_BY_MS,
  REQUEST_TIMEOUT_MS,
  MAX_ATTEMPTS,
};
