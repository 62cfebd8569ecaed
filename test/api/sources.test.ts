import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSynth } from '../../src/cli/commands/synth.js';
import { isGemmaError, loadModel, type LoadProgressEvent } from '../../src/index.js';
// @ts-expect-error plain JS module without types
import { startWebServer } from '../../scripts/web.mjs';

const dir = mkdtempSync(join(tmpdir(), 'gemma-ts-sources-'));
const hfDir = join(dir, 'tiny3');
const ggufPath = join(dir, 'tiny3.gguf');
const ids = [2, 40, 41, 300, 7, 99];
let server: { url: string; requests: { path: string; range: string | null }[]; close(): Promise<void> };
let reference: Float32Array;

async function logitsOf(source: Parameters<typeof loadModel>[0], opts: Parameters<typeof loadModel>[1] = {}): Promise<Float32Array> {
  const m = await loadModel(source, { backend: 'reference', contextLength: 32, ...opts });
  try { return await m.logits(ids); } finally { await m.dispose(); }
}

beforeAll(async () => {
  await writeSynth('tiny-gemma-3', 'f32', 'safetensors', 5, hfDir);
  await writeSynth('tiny-gemma-3', 'f32', 'gguf', 5, ggufPath);
  server = await startWebServer({ port: 0, models: [dir] });
  reference = await logitsOf(ggufPath);
});
afterAll(async () => { await server?.close(); });

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('model sources', () => {
  it('a Node directory (HF file set) gives the same logits as the GGUF of the same seed', async () => {
    expect(maxDiff(await logitsOf(hfDir), reference)).toBeLessThan(1e-4);
  });

  it('ArrayBuffer, Uint8Array and Blob sources give identical logits', async () => {
    const bytes = readFileSync(ggufPath);
    expect(await logitsOf(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))).toEqual(reference);
    expect(await logitsOf(new Uint8Array(bytes))).toEqual(reference);
    expect(await logitsOf(new Blob([bytes]))).toEqual(reference);
  });

  it('a list of Files (a picked directory) loads as a file set', async () => {
    const files = readdirSync(hfDir).map((n) => new File([readFileSync(join(hfDir, n))], n));
    expect(maxDiff(await logitsOf(files), reference)).toBeLessThan(1e-4);
    // a single .gguf among picked files
    expect(await logitsOf([new File([readFileSync(ggufPath)], 'x.gguf')])).toEqual(reference);
  });

  it('a URL is read with Range requests, one tensor at a time, never as one whole-file read', async () => {
    // the demo preset: ~4.8 MB of f32 weights, largest tensor 384 x 128 x 4 = 192 KiB
    const big = join(dir, 'demo.gguf');
    await writeSynth('demo', 'f32', 'gguf', 1, big);
    server.requests.length = 0;
    const events: LoadProgressEvent[] = [];
    const m = await loadModel(`${server.url}models/demo.gguf`, { backend: 'reference', contextLength: 16, onProgress: (e) => events.push(e) });
    const fromFile = await loadModel(big, { backend: 'reference', contextLength: 16 });
    expect(await m.logits(ids)).toEqual(await fromFile.logits(ids));
    await m.dispose(); await fromFile.dispose();
    const size = statSync(big).size;
    expect(size).toBeGreaterThan(4_500_000);
    const reads = server.requests.filter((r) => r.path === 'demo.gguf');
    expect(reads.length).toBeGreaterThan(40);
    for (const r of reads) {
      const mm = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '');
      expect(mm, `every request is ranged (${r.range})`).not.toBeNull();
      // at most the GGUF reader's 1 MiB header window or one tensor
      expect(Number(mm![2]) - Number(mm![1]) + 1).toBeLessThanOrEqual(1 << 20);
    }
    const phases = [...new Set(events.map((e) => e.phase))];
    expect(phases).toEqual(['backend', 'download', 'weights', 'ready']);
    const dl = events.filter((e) => e.phase === 'download').at(-1) as Extract<LoadProgressEvent, { phase: 'download' }>;
    expect(dl.total).toBe(size);
    expect(dl.loaded).toBeGreaterThan(size * 0.9);
  });

  it('a directory URL loads the HF file set', async () => {
    expect(maxDiff(await logitsOf(`${server.url}models/tiny3/`), reference)).toBeLessThan(1e-4);
    expect(maxDiff(await logitsOf(`${server.url}models/tiny3`), reference)).toBeLessThan(1e-4);
  });

  it('reports missing files and bad sources with GemmaError', async () => {
    const e1 = await logitsOf(`${server.url}models/nope.gguf`).catch((e) => e);
    expect(isGemmaError(e1, 'IO')).toBe(true);
    const e2 = await logitsOf(join(dir, 'missing.gguf')).catch((e) => e);
    expect(isGemmaError(e2, 'IO')).toBe(true);
    writeFileSync(join(dir, 'junk.gguf'), 'not a gguf at all');
    const e3 = await logitsOf(join(dir, 'junk.gguf')).catch((e) => e);
    expect(isGemmaError(e3, 'BAD_MAGIC')).toBe(true);
    const e4 = await logitsOf(42 as never).catch((e) => e);
    expect(isGemmaError(e4, 'BAD_ARGUMENT')).toBe(true);
    const e5 = await loadModel(ggufPath, { backend: 'no-such-backend' }).catch((e) => e);
    expect(isGemmaError(e5, 'BACKEND')).toBe(true);
    const e6 = await loadModel(ggufPath, { quantize: 'q9_z' }).catch((e) => e);
    expect(isGemmaError(e6)).toBe(true);
  });

  it('kvCache: f16 reaches the WASM backend (its cache layers are f16, logits within 1e-2 of f32); a bad value is a typed error', async () => {
    const f32 = await logitsOf(ggufPath, { backend: 'wasm', threads: 1 });
    const m = await loadModel(ggufPath, { backend: 'wasm', threads: 1, contextLength: 32, kvCache: 'f16' });
    const cache = m.engine.newCache();
    expect((cache as unknown as { layers: { f16: boolean }[] }).layers.every((l) => l.f16)).toBe(true);
    cache.dispose();
    const f16 = await m.logits(ids);
    await m.dispose();
    const d = maxDiff(f16, f32);
    expect(d).toBeLessThan(1e-2);
    expect(d).toBeGreaterThan(0);
    const e = await loadModel(ggufPath, { backend: 'wasm', kvCache: 'f8' as never }).catch((x) => x);
    expect(isGemmaError(e, 'BAD_ARGUMENT')).toBe(true);
  });

  it('quantize re-encodes the weights while loading (q8_0: small logit error)', async () => {
    const m = await loadModel(hfDir, { backend: 'reference', contextLength: 32, quantize: 'q8_0' });
    expect(m.engine.weights.layers[0]!.wq.dtype).toBe('q8_0');
    expect(m.engine.weights.finalNorm.dtype).toBe('f32');
    const q = await m.logits(ids);
    await m.dispose();
    const d = maxDiff(q, reference);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(0.05 * Math.max(...Array.from(reference, Math.abs)));
  });

  it("backend 'auto' reports what it picked and why", async () => {
    const events: LoadProgressEvent[] = [];
    const m = await loadModel(ggufPath, { onProgress: (e) => events.push(e), contextLength: 16 });
    const b = events.find((e) => e.phase === 'backend') as Extract<LoadProgressEvent, { phase: 'backend' }>;
    expect(b.backend).toBe(m.backend);
    expect(b.reason).toMatch(/^auto: /);
    expect(['webgpu', 'wasm', 'reference']).toContain(m.backend);
    await m.dispose();
  });
});
