'use strict';
/**
 * The page server of the real-Flex e2e page, on loopback (port 0: the OS picks).
 *
 *   const page = await startPageServer({ bundlePath });
 *   page.url                 // 'http://localhost:PORT' (the origin the Functions must allow)
 *   page.pageUrl(config)     // the harness with its ?config= (see e2e/flex/harness.js)
 *   page.bundleUrl           // where the plugin bundle is served (a plugin definition's src)
 *   await page.close();
 *
 * Serves / (e2e/flex/index.html), /harness.js, /flex.js (the esbuild bundle of
 * the real @twilio/flex-ui, built on demand by e2e/flex/build.js) and, at
 * /plugins/<file name>, the plugin bundle under test (read per request).
 */
const fs = require('fs');
const http = require('http');
const path = require('path');
const { ensureFlexBundle } = require('../flex/build');

const FLEX_DIR = path.join(__dirname, '..', 'flex');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'application/javascript; charset=utf-8' };

function startPageServer({ bundlePath }) {
  const bundleUrl = `/plugins/${path.basename(bundlePath)}`;
  const routes = {
    '/': path.join(FLEX_DIR, 'index.html'),
    '/harness.js': path.join(FLEX_DIR, 'harness.js'),
    '/flex.js': ensureFlexBundle(),
    [bundleUrl]: bundlePath,
  };
  const server = http.createServer((req, res) => {
    const file = routes[new URL(req.url, 'http://x').pathname];
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err.message));
        return;
      }
      // flex.js (33 MB) may be cached by the browser; the rest is read fresh.
      const cache = file === routes['/flex.js'] ? 'max-age=3600' : 'no-store';
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': cache });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      const url = `http://localhost:${port}`;
      resolve({
        url,
        port,
        bundleUrl,
        pageUrl(config = {}) {
          const cfg = { plugins: [{ name: 'plugin-mos-score', src: bundleUrl }], ...config };
          return `${url}/?config=${encodeURIComponent(JSON.stringify(cfg))}`;
        },
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

module.exports = { startPageServer };
