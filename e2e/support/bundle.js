'use strict';
/**
 * The plugin bundle the e2e suite (and the demo) test: built by
 * scripts/build-bundle.sh with ITS OWN Functions URL into its own directory
 * (MOS_BUNDLE_OUT), never js-shim/build/, so a test build can never be deployed.
 * Skipped when a stamp says the sources and the URL are unchanged.
 *
 *   node e2e/support/bundle.js            # the e2e bundle: e2e/.build/plugin/
 *   ensurePluginBundle({ outDir, url })   // -> { bundlePath, functionsBaseUrl (what was baked in) }
 *
 * E2E_URL is not a real host: the page routes it to the local twilio-run
 * (see browser.js), so a build-time URL is exercised without a custom_data override.
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const E2E_OUT = path.join(ROOT, 'e2e', '.build', 'plugin');
const E2E_URL = 'https://mos-score-e2e.invalid';

/** Every file the bundle is built from (sources, lock files, the build script). */
function inputs() {
  const out = [];
  const walk = (dir, keep) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'generated' && e.name !== 'build') walk(p, keep);
      } else if (keep(p)) out.push(p);
    }
  };
  walk(path.join(ROOT, 'src'), () => true);
  walk(path.join(ROOT, 'js-shim', 'src'), () => true);
  walk(path.join(ROOT, 'js-shim', 'scripts'), () => true);
  for (const f of ['Cargo.toml', 'Cargo.lock', 'js-shim/package.json', 'js-shim/package-lock.json', 'js-shim/.env', 'scripts/build-bundle.sh']) {
    if (fs.existsSync(path.join(ROOT, f))) out.push(path.join(ROOT, f));
  }
  return out.sort();
}

function stampOf(url) {
  const h = crypto.createHash('sha256').update(url);
  for (const f of inputs()) h.update(path.relative(ROOT, f)).update(fs.readFileSync(f));
  return h.digest('hex');
}

function ensurePluginBundle({ outDir = E2E_OUT, url = E2E_URL, quiet = false } = {}) {
  const bundlePath = path.join(outDir, 'plugin-mos-score.js');
  const infoPath = path.join(outDir, 'build-info.json');
  const stampPath = path.join(outDir, 'stamp');
  const stamp = stampOf(url);
  const fresh = fs.existsSync(bundlePath) && fs.existsSync(infoPath) && fs.existsSync(stampPath) && fs.readFileSync(stampPath, 'utf8') === stamp;
  if (!fresh) {
    if (!quiet) console.log(`[e2e] building the plugin bundle into ${path.relative(ROOT, outDir)}/ with FLEX_APP_FUNCTIONS_BASE_URL=${url}`);
    fs.rmSync(stampPath, { force: true });
    execFileSync('bash', [path.join(ROOT, 'scripts', 'build-bundle.sh')], {
      stdio: quiet ? 'ignore' : 'inherit',
      env: { ...process.env, FLEX_APP_FUNCTIONS_BASE_URL: url, MOS_BUNDLE_OUT: outDir },
    });
    fs.writeFileSync(stampPath, stamp);
  }
  const info = JSON.parse(fs.readFileSync(infoPath, 'utf8'));
  return { bundlePath, functionsBaseUrl: info.functionsBaseUrl };
}

module.exports = { ensurePluginBundle, E2E_URL };

if (require.main === module) {
  const { bundlePath, functionsBaseUrl } = ensurePluginBundle();
  console.log(`[e2e] plugin bundle ${path.relative(ROOT, bundlePath)} (Functions URL baked in: ${functionsBaseUrl})`);
}
