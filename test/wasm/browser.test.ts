/**
 * The wasm backend in headless Chromium: Web Workers from a Blob URL on a shared memory when
 * the page is cross-origin isolated (COOP/COEP), one thread with a note when it is not.
 * Results must equal Node's bit for bit (same kernels, same inputs).
 *
 * Needs Chromium (/usr/bin/chromium or CHROMIUM_PATH); skips loudly without it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from '../helpers/chromium.js';
import { ensureWasmBuilt, wasmBackend } from './helpers.js';

if (!CHROMIUM) console.warn('\n*** test/wasm/browser.test.ts SKIPPED: no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH) ***\n');

// the page's script: build a backend, run a q8_0 and an f16 matmul plus attention, return outputs
const ENTRY = `
import { createWasmBackend } from './src/kernels/wasm/backend.ts';
window.runWasm = async (threads, w8, wf, x, q, kv) => {
  const be = await createWasmBackend({ threads });
  const W8 = be.uploadWeight({ name: 'w8', dtype: 'q8_0', shape: [37, 64], data: new Uint8Array(w8) });
  const WF = be.uploadWeight({ name: 'wf', dtype: 'f16', shape: [37, 64], data: new Uint8Array(wf) });
  const X = be.tensor(3, 64); be.upload(X, new Float32Array(x));
  const O8 = be.tensor(3, 37), OF = be.tensor(3, 37);
  be.matmul(O8, X, W8); be.matmul(OF, X, WF);
  const cache = be.createKvLayer(8, 32);
  const K = be.tensor(3, 32), Q = be.tensor(3, 64), A = be.tensor(3, 64);
  be.upload(K, new Float32Array(kv)); be.upload(Q, new Float32Array(q));
  be.kvStore(cache, K, K, 0);
  be.attention(A, Q, cache, { numHeads: 4, numKvHeads: 2, headDim: 16, scale: 0.25, softcap: null, window: null, startPos: 0 });
  const out = { info: be.info, o8: Array.from(await be.download(O8)), of: Array.from(await be.download(OF)), att: Array.from(await be.download(A)) };
  be.dispose();
  return out;
};
`;

let server: Server, url = '', browser: Browser;
const pages = new Map<string, string>();

beforeAll(async () => {
  if (!CHROMIUM) return;
  ensureWasmBuilt();
  const root = join(__dirname, '..', '..');
  const js = await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: root, sourcefile: 'entry.js', loader: 'js' },
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, external: ['node:*'], logLevel: 'error',
  });
  pages.set('/app.js', js.outputFiles[0]!.text);
  pages.set('/isolated.html', '<!doctype html><script type="module" src="/app.js"></script>');
  pages.set('/plain.html', '<!doctype html><script type="module" src="/app.js"></script>');
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const body = pages.get(path);
    if (!body) { res.writeHead(404).end(); return; }
    const headers: Record<string, string> = { 'content-type': path.endsWith('.js') ? 'text/javascript' : 'text/html' };
    // /plain.html is served without COOP/COEP: no SharedArrayBuffer there
    if (path !== '/plain.html') Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' });
    res.writeHead(200, headers).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
}, 120_000);

afterAll(async () => { await browser?.close(); server?.close(); });

/** deterministic inputs: q8_0 blocks (scale 1/64, levels -127..127), f16 bits of small values, floats */
function inputs() {
  let s = 7;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const w8 = new Uint8Array(37 * 2 * 34);
  for (let b = 0; b < 37 * 2; b++) { w8[b * 34] = 0x00; w8[b * 34 + 1] = 0x24; for (let j = 0; j < 32; j++) w8[b * 34 + 2 + j] = (Math.floor(r() * 255) - 127) & 0xff; }
  const wf = new Uint8Array(new Uint16Array(37 * 64).map(() => 0x2000 + Math.floor(r() * 0x1800) + (r() < 0.5 ? 0x8000 : 0)).buffer);
  const x = Array.from({ length: 192 }, () => r() * 4 - 2);
  const q = Array.from({ length: 192 }, () => r() * 2 - 1);
  const kv = Array.from({ length: 96 }, () => r() * 2 - 1);
  return { w8, wf, x, q, kv };
}

async function inPage(page: string, threads: number) {
  const p = await browser.newPage();
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(url + page);
  await p.waitForFunction(() => typeof (window as unknown as { runWasm?: unknown }).runWasm === 'function');
  const { w8, wf, x, q, kv } = inputs();
  const res = await p.evaluate(([t, a, b, c, d, e]) => (window as unknown as { runWasm: (...a: unknown[]) => Promise<unknown> }).runWasm(t, a, b, c, d, e),
    [threads, Array.from(w8), Array.from(wf), x, q, kv] as const) as { info: { threads: number; shared: boolean; notes: string[] }; o8: number[]; of: number[]; att: number[] };
  await p.close();
  expect(errors).toEqual([]);
  return res;
}

async function inNode() {
  const be = await wasmBackend({ threads: 1 });
  const { w8, wf, x, q, kv } = inputs();
  const W8 = be.uploadWeight({ name: 'w8', dtype: 'q8_0', shape: [37, 64], data: w8 });
  const WF = be.uploadWeight({ name: 'wf', dtype: 'f16', shape: [37, 64], data: wf });
  const X = be.tensor(3, 64); be.upload(X, Float32Array.from(x));
  const O8 = be.tensor(3, 37), OF = be.tensor(3, 37);
  be.matmul(O8, X, W8); be.matmul(OF, X, WF);
  const cache = be.createKvLayer(8, 32);
  const K = be.tensor(3, 32), Q = be.tensor(3, 64), A = be.tensor(3, 64);
  be.upload(K, Float32Array.from(kv)); be.upload(Q, Float32Array.from(q));
  be.kvStore(cache, K, K, 0);
  be.attention(A, Q, cache, { numHeads: 4, numKvHeads: 2, headDim: 16, scale: 0.25, softcap: null, window: null, startPos: 0 });
  return { o8: Array.from(await be.download(O8)), of: Array.from(await be.download(OF)), att: Array.from(await be.download(A)) };
}

describe.skipIf(!CHROMIUM)('wasm backend in headless Chromium', () => {
  it('cross-origin isolated: 3 threads in Web Workers, same results as Node', async () => {
    const res = await inPage('/isolated.html', 3);
    expect(res.info.threads).toBe(3);
    expect(res.info.shared).toBe(true);
    const node = await inNode();
    expect(res.o8).toEqual(node.o8);
    expect(res.of).toEqual(node.of);
    expect(res.att).toEqual(node.att);
  });

  it('not isolated: one thread on an unshared memory, with a note saying why; same results', async () => {
    const res = await inPage('/plain.html', 3);
    expect(res.info.threads).toBe(1);
    expect(res.info.shared).toBe(false);
    expect(res.info.notes.join(' ')).toMatch(/SharedArrayBuffer is unavailable/);
    const node = await inNode();
    expect(res.o8).toEqual(node.o8);
    expect(res.of).toEqual(node.of);
  });
});
