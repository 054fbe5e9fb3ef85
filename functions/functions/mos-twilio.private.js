'use strict';
/**
 * Twilio REST calls with capped, jittered retry, kept inside the Function's
 * 10 s execution limit.
 *
 * Budget: a handler gets HANDLER_BUDGET_MS (6 s) from the moment it is
 * invoked, token validation included. Each Twilio request has a
 * REQUEST_TIMEOUT_MS (2 s) socket/request timeout, and a retry is only
 * attempted when its back-off sleep plus one full request timeout still fits
 * before the deadline. So the worst case is deadline + one in-flight request,
 * well under 10 s.
 */
const twilio = require('twilio');

const HANDLER_BUDGET_MS = 6000;
const REQUEST_TIMEOUT_MS = 2000;
const MAX_ATTEMPTS = 4;
const BASE_DELAY_MS = 200;
const MAX_DELAY_MS = 1500;

const NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

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
  const status = statusOf(err);
  if (status !== undefined) return status === 429 || status >= 500;
  return Boolean(err && (NETWORK_CODES.has(err.code) || /timeout/i.test(String(err.message))));
}

/**
 * Back-off before retry number `attempt` (1-based): exponential from
 * BASE_DELAY_MS, capped at MAX_DELAY_MS, with "equal jitter" (half fixed, half
 * random) so concurrent agents' Functions do not retry in lock-step.
 * @param {number} attempt 1, 2, 3...
 * @param {() => number} random in [0, 1)
 */
function retryDelayMs(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, runs out of
 * attempts, or the next try would not fit before `deadline` (epoch ms).
 * The last error is rethrown with `attempts` set on it.
 */
async function withRetry(fn, { deadline = Date.now() + HANDLER_BUDGET_MS, maxAttempts = MAX_ATTEMPTS, random = Math.random, onRetry } = {}) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (err) {
      const delay = retryDelayMs(attempt, random);
      const fits = Date.now() + delay + REQUEST_TIMEOUT_MS <= deadline;
      if (!isRetryable(err) || attempt >= maxAttempts || !fits) {
        if (err && typeof err === 'object') err.attempts = attempt;
        throw err;
      }
      if (onRetry) onRetry(err, attempt, delay);
      await sleep(delay);
    }
  }
}

module.exports = {
  createClient,
  withRetry,
  retryDelayMs,
  isRetryable,
  statusOf,
  HANDLER_BUDGET_MS,
  REQUEST_TIMEOUT_MS,
  MAX_ATTEMPTS,
  BASE_DELAY_MS,
  MAX_DELAY_MS,
};
