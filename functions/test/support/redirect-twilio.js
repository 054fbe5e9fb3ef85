'use strict';
/**
 * Sends every outgoing https request for *.twilio.com (api, insights,
 * taskrouter, iam, ...) to a loopback fake over plain http, in this process.
 * Production code stays untouched: the real `twilio` helper and the real
 * twilio-flex-token-validator build their usual https://<host>.twilio.com
 * requests, and this swaps the transport underneath them.
 *
 * The original host is passed on in the `x-fake-twilio-host` header, so the
 * fake can tell Insights from TaskRouter from IAM and build absolute
 * next_page_urls on the real hosts (which are redirected again).
 *
 * Two ways to use it:
 *   - in-process:  const undo = require('./redirect-twilio').install('http://127.0.0.1:PORT'); ... undo();
 *   - preload (e.g. for twilio-run and its forked function runners):
 *       NODE_OPTIONS="--require /abs/path/redirect-twilio.js" FAKE_TWILIO_URL=http://127.0.0.1:PORT
 *
 * Any other https host is left alone (this machine has no route to it anyway).
 */
const http = require('http');
const https = require('https');

const TWILIO_HOST = /(^|\.)twilio\.com$/i;
const ORIGINAL = { request: https.request, get: https.get };
let target = null;

function normalise(args) {
  let [first, second, third] = args;
  let options;
  let callback;
  if (typeof first === 'string' || first instanceof URL) {
    const u = new URL(first);
    options = { protocol: u.protocol, hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: 'GET' };
    if (typeof second === 'function') callback = second;
    else {
      options = { ...options, ...(second || {}) };
      callback = third;
    }
  } else {
    options = { ...(first || {}) };
    callback = second;
  }
  return { options, callback };
}

function redirectedRequest(...args) {
  const { options, callback } = normalise(args);
  const host = String(options.hostname || options.host || '').replace(/:\d+$/, '');
  if (!target || !TWILIO_HOST.test(host)) return ORIGINAL.request.apply(https, args);
  const headers = { ...(options.headers || {}), 'x-fake-twilio-host': host };
  const next = {
    ...options,
    protocol: 'http:',
    hostname: target.hostname,
    host: target.hostname,
    port: target.port,
    headers,
  };
  delete next.agent; // an https.Agent cannot carry an http request
  delete next._defaultAgent;
  delete next.servername;
  return http.request(next, callback);
}

function redirectedGet(...args) {
  const req = redirectedRequest(...args);
  req.end();
  return req;
}

/**
 * @param {string} url base URL of the fake, e.g. http://127.0.0.1:4010
 * @returns {() => void} undo
 */
function install(url) {
  const u = new URL(url);
  target = { hostname: u.hostname, port: u.port || '80' };
  https.request = redirectedRequest;
  https.get = redirectedGet;
  return function uninstall() {
    target = null;
    https.request = ORIGINAL.request;
    https.get = ORIGINAL.get;
  };
}

if (process.env.FAKE_TWILIO_URL) install(process.env.FAKE_TWILIO_URL);

module.exports = { install };
