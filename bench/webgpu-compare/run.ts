/**
 * gemma-ts WebGPU vs transformers.js (onnxruntime-web WebGPU EP) in headless Chromium on the
 * same adapter (SwiftShader, Chromium's CPU Vulkan implementation), same weights.
 *
 *   npx tsx bench/webgpu-compare/run.ts [--model mid] [--n 64] [--prompt 16] [--rounds 3] [--json out.json] [--ort-log verbose]
 *
 * --ort-log verbose|info: onnxruntime-web's log level, and every page console line printed
 * (shows which execution provider each node was placed on).
 *
 * Needs the model directory .cache/webgpu-compare/MODEL (synth.ts + make-onnx.py, see
 * README.md). First a correctness check on the adapter (both engines' logits vs gemma-ts's
 * reference backend in Node, --check-tokens 48, --check-tokens 0 to skip), one warm-up run per engine (pipeline/shader compilation), then `rounds` rounds
 * alternating the engines; prints every run and the best (and median) decode tok/s of each.
 */
import { existsSync, mkdirSync, writeFileSync, createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/index.js';
import { CHROMIUM, launchChromium } from '../../test/helpers/chromium.js';
import { flag, logSoftmaxRows, maxAbsDiff } from './util.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const WWW = join(ROOT, '.cache', 'webgpu-compare', 'www');
const MODELS = join(ROOT, '.cache', 'webgpu-compare');
const ORT = join(HERE, 'node_modules', 'onnxruntime-web', 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.map': 'application/json',
};

/** static files with COOP/COEP (cross-origin isolation for wasm threads); /models/, /ort/, the rest from WWW */
function serve(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [base, rest] = path.startsWith('/models/') ? [MODELS, path.slice(8)] : path.startsWith('/ort/') ? [ORT, path.slice(5)] : [WWW, path === '/' ? 'index.html' : path.slice(1)];
    const file = normalize(join(base, rest));
    const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-store' };
    if (!file.startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) {
      if (path !== '/favicon.ico') console.error(`[server] 404 ${path}`);
      res.writeHead(404, headers); res.end('not found'); return;
    }
    const size = statSync(file).size;
    const type = { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'accept-ranges': 'bytes' };
    const m = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? '').trim());
    if (m && (m[1] !== '' || m[2] !== '')) { // one range: a-b, a-, -n (gemma-ts reads tensors by range)
      const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
      const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      if (start > end || start >= size) { res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }); res.end(); return; }
      res.writeHead(206, { ...type, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) });
      createReadStream(file, { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { ...type, 'content-length': String(size) });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    const a = server.address() as { port: number };
    ok({ url: `http://127.0.0.1:${a.port}/`, close: () => server.close() });
  }));
}

async function bundle(): Promise<void> {
  const esbuild = await import('esbuild');
  mkdirSync(WWW, { recursive: true });
  await esbuild.build({
    entryPoints: [join(HERE, 'page.ts')], outfile: join(WWW, 'page.js'), bundle: true, format: 'esm', platform: 'browser',
    target: 'es2022', external: ['node:*'], logLevel: 'warning', nodePaths: [join(HERE, 'node_modules')],
  });
  writeFileSync(join(WWW, 'index.html'), '<!doctype html><meta charset="utf-8"><title>webgpu-compare</title><body><script type="module" src="/page.js"></script></body>\n');
}

interface Run { tokens: number[]; prefillMs: number; decodeTokPerS: number; decodeMs: number }

const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };

async function main(): Promise<void> {
  if (!CHROMIUM) throw new Error('no Chromium (apt-get install -y chromium or CHROMIUM_PATH)');
  const model = flag('model', 'mid');
  const n = Number(flag('n', '64'));
  const promptLen = Number(flag('prompt', '16'));
  const rounds = Number(flag('rounds', '3'));
  if (!existsSync(join(MODELS, model, 'onnx', 'model.onnx'))) throw new Error(`no ${join(MODELS, model)}/onnx/model.onnx: run synth.ts and make-onnx.py first`);
  const cfg = JSON.parse(await (await import('node:fs/promises')).readFile(join(MODELS, model, 'config.json'), 'utf8')) as { vocab_size: number };
  let x = 777;
  const prompt = [2, ...Array.from({ length: promptLen - 1 }, () => { x = (x * 1103515245 + 12345) >>> 0; return 3 + (x % (cfg.vocab_size - 3)); })];

  await bundle();
  const server = await serve();
  const ctx = await launchChromium(['--use-webgpu-adapter=swiftshader']);
  try {
    const page = await ctx.newPage();
    const ortLog = flag('ort-log', '');
    page.on('console', (m) => { if (ortLog || m.type() === 'error' || m.type() === 'warning') console.error(`[page ${m.type()}] ${m.text()}`); });
    page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
    await page.goto(server.url + (ortLog ? `?ortlog=${ortLog}` : ''));
    await page.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout: 60_000 });
    const adapter = await page.evaluate('adapterInfo()') as string;
    const ortVersion = await page.evaluate('ortVersion()') as string;
    console.log(`adapter: ${adapter}; onnxruntime-web ${ortVersion}; model ${model}; prompt ${promptLen} tokens, ${n} decoded, greedy`);
    // correctness on the adapter first: both engines' logits vs gemma-ts's reference backend (Node)
    const checkIds = [...prompt, ...prompt.slice(1), ...prompt.slice(1), ...prompt.slice(1)].slice(0, Number(flag('check-tokens', '48')));
    let want: Float64Array = new Float64Array(0);
    if (checkIds.length) {
      const ref = await loadModel(join(MODELS, model), { backend: 'reference', contextLength: 256 });
      want = logSoftmaxRows(await ref.logits(checkIds, { allLogits: true }), cfg.vocab_size);
      await ref.dispose();
    }
    const checks: Record<string, number> = {};
    for (const fn of (checkIds.length ? ['logitsOurs', 'logitsTheirs'] : []) as ('logitsOurs' | 'logitsTheirs')[]) {
      const t = Date.now();
      const got = await page.evaluate(([f, a]) => (globalThis as unknown as Record<string, (a: unknown) => Promise<number[]>>)[f as string]!(a), [fn, { model, ids: checkIds, split: checkIds.length >> 1 }] as const);
      checks[fn] = maxAbsDiff(logSoftmaxRows(Float32Array.from(got), cfg.vocab_size), want);
      console.log(`check ${fn === 'logitsOurs' ? 'gemma-ts (one prefill)' : `transformers.js (prefill ${checkIds.length >> 1} + ${checkIds.length - (checkIds.length >> 1)} cached steps)`} on the adapter vs reference backend, ${checkIds.length} tokens: max |Δ log-softmax| = ${checks[fn]!.toExponential(2)} (${((Date.now() - t) / 1000).toFixed(1)} s incl. load)`);
    }
    const call = (fn: 'runOurs' | 'runTheirs', k: number) => page.evaluate(([f, a]) => (globalThis as unknown as Record<string, (a: unknown) => Promise<Run>>)[f as string]!(a), [fn, { model, prompt, n: k }] as const);
    const label = { runOurs: 'gemma-ts      ', runTheirs: 'transformers.js' };
    const res: Record<string, Run[]> = { runOurs: [], runTheirs: [] };
    for (const fn of ['runOurs', 'runTheirs'] as const) {
      const t = Date.now();
      const w = await call(fn, 8);
      console.log(`warm-up ${label[fn]}: load + 8 tokens ${((Date.now() - t) / 1000).toFixed(1)} s (decode ${w.decodeTokPerS.toFixed(1)} tok/s)`);
    }
    for (let r = 0; r < rounds; r++) {
      for (const fn of (r % 2 ? ['runTheirs', 'runOurs'] : ['runOurs', 'runTheirs']) as ('runOurs' | 'runTheirs')[]) {
        const o = await call(fn, n);
        res[fn]!.push(o);
        console.log(`round ${r + 1} ${label[fn]}: prefill ${o.prefillMs.toFixed(0)} ms, decode ${o.decodeTokPerS.toFixed(2)} tok/s (${o.decodeMs.toFixed(0)} ms for ${n - 1})`);
      }
    }
    const a = res.runOurs!, b = res.runTheirs!;
    const same = a[0]!.tokens.findIndex((t, i) => t !== b[0]!.tokens[i]);
    console.log(`greedy tokens: ${same < 0 ? `all ${n} equal` : `equal up to index ${same} (first difference: ours ${a[0]!.tokens[same]}, theirs ${b[0]!.tokens[same]})`}`);
    const best = (rs: Run[]) => Math.max(...rs.map((o) => o.decodeTokPerS));
    const bestPre = (rs: Run[]) => Math.min(...rs.map((o) => o.prefillMs));
    console.log(`decode tok/s best (median): gemma-ts ${best(a).toFixed(2)} (${median(a.map((o) => o.decodeTokPerS)).toFixed(2)}), transformers.js ${best(b).toFixed(2)} (${median(b.map((o) => o.decodeTokPerS)).toFixed(2)}); ratio ours/theirs ${(best(a) / best(b)).toFixed(2)}`);
    console.log(`prefill ms best: gemma-ts ${bestPre(a).toFixed(0)}, transformers.js ${bestPre(b).toFixed(0)}`);
    const out = flag('json', '');
    if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), adapter, ortVersion, model, promptLen, n, checks, ours: a, theirs: b }, null, 1));
  } finally {
    await ctx.close();
    server.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
