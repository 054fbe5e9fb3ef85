'use strict';
/**
 * Debian Chromium through playwright-core (never a browser download), with
 * window.gc() (--js-flags=--expose-gc) for the scenarios that force garbage
 * collection. `localhost` is mapped to 127.0.0.1.
 *
 *   const browser = await launch();
 *   const ctx = await isolatedContext(browser, stack);   // a fresh profile (localStorage, Web Locks)
 *   const tab = await openFlex(ctx, stack, config);      // the real Flex page, plugins settled
 *
 * isolatedContext() routes every request of the context: the page server and
 * the Functions pass; the bundle's baked-in test URL (`bakedUrl`, default
 * support/bundle.js E2E_URL) is forwarded to the local twilio-run; everything else (Flex's
 * fonts, sounds, countries.json, Twilio's cloud) is aborted and listed in
 * ctx.blocked.
 */
const { chromium } = require('playwright-core');
const { E2E_URL } = require('./bundle');

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
  '--autoplay-policy=no-user-gesture-required',
  '--js-flags=--expose-gc',
  '--host-resolver-rules=MAP localhost 127.0.0.1',
];

function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

async function isolatedContext(browser, stack, { viewport, bakedUrl = E2E_URL } = {}) {
  const context = await browser.newContext({ viewport: viewport || { width: 1280, height: 800 } });
  context.blocked = [];
  context.forwarded = [];
  const pass = [stack.page.url + '/', stack.functionsBaseUrl + '/'];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (pass.some((p) => url.startsWith(p))) return route.continue();
    if (url.startsWith(bakedUrl + '/')) {
      context.forwarded.push(url);
      // (route.continue cannot change https to http)
      const response = await route.fetch({ url: stack.functionsBaseUrl + url.slice(bakedUrl.length) });
      return route.fulfill({ response });
    }
    context.blocked.push(url);
    return route.abort('blockedbyclient');
  });
  return context;
}

/**
 * A tab on the real Flex page; `seen` collects its console lines and page
 * errors (and survives reloads). Resolves once Flex's loader says every plugin
 * is Initialized or Failed.
 */
async function openFlex(context, stack, config, seen) {
  const page = await context.newPage();
  const log = seen || { console: [], pageErrors: [] };
  page.on('console', (m) => log.console.push({ type: m.type(), text: m.text(), t: Date.now() }));
  page.on('pageerror', (e) => log.pageErrors.push(String(e && e.message)));
  await page.goto(stack.page.pageUrl(config));
  await pluginsSettled(page);
  return { page, seen: log };
}

/** Waits for Flex's PluginManager to have initialised (or failed) every plugin; returns their states. */
async function pluginsSettled(page) {
  await page.waitForFunction(() => window.Harness && window.Harness.ready && window.Harness.pluginsSettled(), null, { timeout: 20000, polling: 20 });
  return page.evaluate(() => window.Harness.pluginStates);
}

module.exports = { launch, isolatedContext, openFlex, pluginsSettled };
