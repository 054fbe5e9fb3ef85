'use strict';
/**
 * Debian Chromium through playwright-core (never a browser download).
 * `localhost` is mapped to 127.0.0.1 so loopback servers bound there are
 * reached without an IPv6 detour.
 */
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--host-resolver-rules=MAP localhost 127.0.0.1',
];

async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

/**
 * Opens the host page and collects what the page says: console lines,
 * page errors (uncaught exceptions) and failed requests.
 */
async function openHost(browser, url, viewport) {
  const context = await browser.newContext({ viewport: viewport || { width: 1440, height: 900 } });
  const page = await context.newPage();
  const seen = { console: [], pageErrors: [] };
  page.on('console', (m) => seen.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => seen.pageErrors.push(String(e && e.message)));
  await page.goto(url);
  const ready = await page.evaluate(() => window.FlexHost.ready);
  return { context, page, seen, ready };
}

module.exports = { launch, openHost, CHROMIUM, ARGS };
