/**
 * The KV cache's element type on WebGPU (WebGpuOptions.kvCache), the non-default one of each
 * path: a packed f16 cache on the f32 path (kv-cache-f32.test.ts, SwiftShader: f16 pairs in u32
 * words, pack2x16float) and an f32 cache on the shader-f16 path (kv-cache-f16.test.ts,
 * lavapipe). Checked through kvStore / qkRopeStore + attention against the reference backend:
 * values that f16 holds exactly must come back exact in both caches, random ones within f16's
 * rounding in an f16 cache (and visibly rounded), exactly in an f32 one; and a whole tiny model
 * (Gemma 3: QK-norm, sliding window, ring buffer) against the reference.
 */
import { describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import type { GpuKvLayer } from '../../src/kernels/webgpu/resources.js';
import { Pair, randn } from '../helpers/backend-conformance.js';
import { gpuConfigs } from './configs.js';
import { qkRopeStoreAttention } from './fused-suite.js';
import { type Driver, gpuEnv } from './gpu-env.js';
import { loadModel, maxLogSoftmaxDiff, presetSpec, tokens } from './models.js';

/** random values f16 holds exactly (multiples of 1/64 below 64) */
const f16Exact = (n: number, seed: number) => randn(n, seed, 2).map((v) => Math.round(v * 64) / 64);

export async function describeKvCache(driver: Driver): Promise<void> {
  const env = await gpuEnv(driver);
  const cfg = env.available ? gpuConfigs(env)[0]! : undefined;
  // the type this path does not use by default
  const other = cfg?.f16 ? 'f32' as const : 'f16' as const;
  describe.skipIf(!cfg)(`WebGPU ${other} KV cache on the ${cfg?.f16 ? 'f16' : 'f32'} path (${env.description})`, () => {
    const make = (kvCache?: 'f32' | 'f16') => WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts, ...(kvCache ? { kvCache } : {}) });

    it('the option picks the type: info, buffer sizes, and a bad value is a typed error', async () => {
      for (const kv of [undefined, other]) {
        const be = await make(kv);
        try {
          const want = kv ?? (cfg!.f16 ? 'f16' : 'f32');
          expect(be.info.kvCache).toBe(want);
          const l = be.createKvLayer(10, 64) as GpuKvLayer;
          expect(l.k.size).toBe(10 * 64 * (want === 'f16' ? 2 : 4));
          be.freeKvLayer(l);
        } finally {
          be.dispose();
        }
      }
      await expect(make('bf16' as never)).rejects.toThrow(/kvCache must be 'f32' or 'f16'/);
    });

    it('kvStore + attention: values f16 holds come back exact (GQA, ring buffer, soft-cap, window)', async () => {
      const be = await make(other);
      try {
        const P = new Pair(be, new ReferenceBackend());
        for (const c of [{ H: 4, G: 2, D: 16, cap: 10 }, { H: 2, G: 1, D: 256, cap: 40 }]) {
          const kvDim = c.G * c.D;
          const caches = [P.be.createKvLayer(c.cap, kvDim), P.ref.createKvLayer(c.cap, kvDim)] as const;
          let pos = 0;
          for (const rows of [6, 1, 5, 1]) {
            const k = P.tensor(rows, kvDim, f16Exact(rows * kvDim, 20 + pos)), v = P.tensor(rows, kvDim, f16Exact(rows * kvDim, 30 + pos));
            P.be.kvStore(caches[0], k[0], v[0], pos); P.ref.kvStore(caches[1], k[1], v[1], pos);
            const q = P.tensor(rows, c.H * c.D, randn(rows * c.H * c.D, 10 + pos));
            const out = P.tensor(rows, c.H * c.D);
            const ap = { numHeads: c.H, numKvHeads: c.G, headDim: c.D, scale: 1 / Math.sqrt(c.D), softcap: pos % 2 ? 30 : null, window: pos % 2 ? null : 7, startPos: pos };
            P.be.attention(out[0], q[0], caches[0], ap); P.ref.attention(out[1], q[1], caches[1], ap);
            expect(await P.compare(out), `${JSON.stringify(c)} pos ${pos} rows ${rows}`).toBeLessThan(1e-5);
            pos += rows;
          }
        }
      } finally {
        be.dispose();
      }
    });

    it(`qkRopeStore + attention on random values: ${other === 'f16' ? 'within f16 rounding, and rounded' : 'exact, where the default f16 cache rounds'}`, async () => {
      const errs: Record<string, number> = {};
      for (const kv of [undefined, other]) {
        const be = await make(kv);
        try {
          const worst = await qkRopeStoreAttention(be);
          errs[kv ?? 'default'] = worst;
        } finally {
          be.dispose();
        }
      }
      const f16 = other === 'f16' ? errs[other]! : errs.default!, f32 = other === 'f32' ? errs[other]! : errs.default!;
      expect(f32, 'f32 cache').toBeLessThan(1e-5);
      expect(f16, 'f16 cache').toBeLessThan(5e-3);
      expect(f16, 'the f16 cache rounds').toBeGreaterThan(1e-6);
    });

    it('a whole tiny Gemma 3 (prefill in chunks, decode past the sliding window) matches the reference', async () => {
      const be = await make(other);
      const ref = new ReferenceBackend();
      const spec = presetSpec('tiny-gemma-3');
      const V = spec.cfg.vocabSize;
      const [mg, mr] = [await loadModel(spec, be), await loadModel(spec, ref)];
      try {
        const toks = tokens(40, V);
        const d = maxLogSoftmaxDiff(await mg.logits(toks, { allLogits: true }), await mr.logits(toks, { allLogits: true }), V);
        const [cg, cr] = [mg.newCache(), mr.newCache()];
        await mg.eval(toks.slice(0, 20), cg); await mr.eval(toks.slice(0, 20), cr);
        let dd = 0;
        for (let s = 20; s < 26; s++) dd = Math.max(dd, maxLogSoftmaxDiff(await mg.eval([toks[s]!], cg), await mr.eval([toks[s]!], cr), V));
        cg.dispose(); cr.dispose();
        console.log(`[webgpu ${other} KV cache on ${env.icd}] max |d log-softmax|: prefill ${d.toExponential(2)}, decode ${dd.toExponential(2)}`);
        // f32 path + f16 cache: the f16 path's bar; f16 path + f32 cache: its own bar
        const bar = other === 'f16' ? 2e-2 : cfg!.modelTol;
        expect(d).toBeLessThan(bar);
        expect(dd).toBeLessThan(bar);
      } finally {
        be.dispose();
      }
    });
  });
  it.skipIf(!!cfg)('WebGPU KV cache types skipped: no adapter (see the warning above)', () => {});
}
