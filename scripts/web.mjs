#!/usr/bin/env node
// npm run web: bundle the demo page (web/app.ts → web/dist/app.js with esbuild) and serve it on
// 127.0.0.1 with the COOP/COEP headers that SharedArrayBuffer (WASM threads) needs. Model files
// are served under /models/ from --models DIR (default: the repo's models/ and the demo cache),
// with HTTP Range support so the page streams them tensor by tensor.
//
//   npm run web [-- --port 8080] [--host 127.0.0.1] [--models DIR] [--no-build]
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm', '.png': 'image/png', '.svg': 'image/svg+xml', '.txt': 'text/plain; charset=utf-8',
};

/** Bundle web/app.ts (which imports src/browser.ts) into web/dist/app.js. */
export async function buildWeb({ minify = false } = {}) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(ROOT, 'web', 'app.ts')], outfile: join(ROOT, 'web', 'dist', 'app.js'),
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, minify,
    external: ['node:*'], logLevel: 'warning',
  });
  return join(ROOT, 'web', 'dist', 'app.js');
}

/** Resolve a URL path under `base` without escaping it; undefined if it would. */
function safeJoin(base, urlPath) {
  let p;
  try { p = decodeURIComponent(urlPath); } catch { return undefined; }
  if (p.includes('\0')) return undefined;
  const full = normalize(join(base, p));
  return full === base || full.startsWith(base + sep) ? full : undefined;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

/** Serve one file with Range support (bytes=a-b, a-, -n; one range). */
function serveFile(req, res, file, extra) {
  const st = statSync(file);
  const size = st.size;
  const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const base = { ...extra, 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'no-cache' };
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(String(range).trim());
    let start, end;
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') { const n = Number(m[2]); start = Math.max(0, size - n); end = size - 1; }
      else { start = Number(m[1]); end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1); }
    }
    if (start === undefined || start > end || start >= size) {
      return send(res, 416, 'range not satisfiable', { ...extra, 'content-range': `bytes */${size}` });
    }
    res.writeHead(206, { ...base, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { ...base, 'content-length': String(size) });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).pipe(res);
}

/**
 * Start the page server. Returns { url, port, close(), requests } where `requests` logs
 * { path, range } of every model file request (tests check the reads are ranged).
 */
export async function startWebServer({ port = 8080, host = '127.0.0.1', models = [], webRoot = join(ROOT, 'web') } = {}) {
  const modelDirs = (models.length ? models : [join(ROOT, 'models'), join(ROOT, '.cache')]).map((d) => resolve(d));
  const requests = [];
  const isolation = {
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cross-origin-resource-policy': 'same-origin',
  };
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed', isolation);
    const url = new URL(req.url ?? '/', 'http://x');
    let path = url.pathname;
    if (path.startsWith('/models/')) {
      const rel = path.slice('/models/'.length);
      requests.push({ path: rel, range: req.headers.range ?? null });
      for (const d of modelDirs) {
        const f = safeJoin(d, rel);
        if (f && existsSync(f) && statSync(f).isFile()) return serveFile(req, res, f, isolation);
      }
      return send(res, 404, 'not found', isolation);
    }
    if (path === '/') path = '/index.html';
    const f = safeJoin(webRoot, path);
    if (!f || !existsSync(f) || !statSync(f).isFile()) return send(res, 404, 'not found', isolation);
    return serveFile(req, res, f, isolation);
  });
  await new Promise((ok, fail) => { server.once('error', fail); server.listen(port, host, ok); });
  const addr = server.address();
  const url = `http://${host}:${addr.port}/`;
  return {
    url, port: addr.port, requests,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

function argValue(argv, name) {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1];
}

/** Make sure a demo model exists to serve: models/demo (trained) or .cache/demo-synth (synthetic, written once). */
export function ensureDemoModel() {
  if (existsSync(join(ROOT, 'models', 'demo', 'config.json')) || existsSync(join(ROOT, '.cache', 'demo-synth', '.complete'))) return;
  const tmp = join(ROOT, '.cache', `demo-synth.tmp-${process.pid}`);
  execFileSync(process.execPath, [join(ROOT, 'bin', 'gemma-ts.js'), 'synth', '--preset', 'demo', '--out', tmp, '--seed', '0'], { stdio: 'inherit', env: { ...process.env, GEMMA_TS_FROM_SOURCE: '1' } });
  writeFileSync(join(tmp, '.complete'), '');
  rmSync(join(ROOT, '.cache', 'demo-synth'), { recursive: true, force: true });
  renameSync(tmp, join(ROOT, '.cache', 'demo-synth'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    console.log('usage: npm run web [-- --port 8080] [--host 127.0.0.1] [--models DIR] [--no-build]');
    process.exit(0);
  }
  if (!argv.includes('--no-build')) await buildWeb();
  const models = argValue(argv, 'models');
  if (!models) ensureDemoModel();
  const s = await startWebServer({ port: Number(argValue(argv, 'port') ?? 8080), host: argValue(argv, 'host') ?? '127.0.0.1', models: models ? [models] : [] });
  console.log(`gemma-ts web page: ${s.url}  (models under ${s.url}models/)`);
}
