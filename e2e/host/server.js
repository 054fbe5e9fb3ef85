'use strict';
/**
 * Static server for the simulated Flex host page.
 *
 *   const host = await startHost({ bundlePath, port: 0 });
 *   host.url               // 'http://localhost:PORT' (an allowed origin for the Functions)
 *   host.pageUrl(config)   // host page URL with the FlexHost config (see flex-host.js)
 *   await host.close();
 *
 * Serves index.html, flex-host.js, flex-host.css and, at
 * /plugins/<bundle file name>, the BUILT plugin bundle file (read per request).
 */
const fs = require('fs');
const http = require('http');
const path = require('path');

const HERE = __dirname;
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'application/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };
const DEFAULT_BUNDLE = path.resolve(HERE, '..', '..', 'js-shim', 'build', 'plugin-mos-score.js');

function startHost(options = {}) {
  const bundlePath = options.bundlePath || DEFAULT_BUNDLE;
  const extra = options.files || {}; // { '/plugins/other.js': '/abs/path' }
  const bundleUrl = `/plugins/${path.basename(bundlePath)}`;
  const routes = {
    '/': path.join(HERE, 'index.html'),
    '/index.html': path.join(HERE, 'index.html'),
    '/flex-host.js': path.join(HERE, 'flex-host.js'),
    '/flex-host.css': path.join(HERE, 'flex-host.css'),
    [bundleUrl]: bundlePath,
    ...extra,
  };
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://x').pathname;
    const file = routes[pathname];
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
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port || 0, '127.0.0.1', () => {
      const { port } = server.address();
      const url = `http://localhost:${port}`;
      resolve({
        url,
        port,
        bundleUrl,
        pageUrl(config = {}) {
          const cfg = { plugins: [bundleUrl], ...config };
          return `${url}/?config=${encodeURIComponent(JSON.stringify(cfg))}`;
        },
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

module.exports = { startHost, DEFAULT_BUNDLE };
