/**
 * Decode attention split across workgroups (flash-decoding: per-split partial softmax, then a
 * combine kernel) against the reference: long caches, GQA/MQA, sliding windows, soft-caps,
 * ring buffers, empty splits; and a whole model decoding with splits forced small.
 */
import { describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import { attentionSplits, attentionWg } from '../../src/kernels/webgpu/ops/attention.js';
import { Pair, randn } from '../helpers/backend-conformance.js';
import { gpuConfigs } from './configs.js';
import { gpuEnv } from './gpu-env.js';
import { loadModel, maxLogSoftmaxDiff, presetSpec, tokens } from './models.js';

const env = await gpuEnv('lavapipe');
const cfg = env.available ? gpuConfigs(env)[0]! : undefined;

it('attention workgroup width: 256 on a GPU; on a CPU driver the head dimension rounded up to a power of two, 64..256', () => {
  expect([16, 64, 100, 128, 200, 256].map((d) => attentionWg(false, d))).toEqual([256, 256, 256, 256, 256, 256]);
  expect([16, 64, 100, 128, 200, 256].map((d) => attentionWg(true, d))).toEqual([64, 64, 128, 128, 256, 256]);
});

it('split planning: none for prefill or short caches, >= splitKeys keys per split, <= 32 splits, ~128 workgroups', () => {
  expect(attentionSplits(8, 4, 5000, 256)).toEqual({ splits: 1, span: 5000 });
  expect(attentionSplits(1, 4, 256, 256)).toEqual({ splits: 1, span: 256 });
  expect(attentionSplits(1, 4, 257, 256)).toEqual({ splits: 2, span: 129 });
  expect(attentionSplits(1, 4, 100000, 256)).toEqual({ splits: 32, span: 3125 });
  // 4 heads x 32 splits = 128 workgroups; 16 heads need only 8 splits for that
  expect(attentionSplits(1, 4, 576, 32)).toEqual({ splits: 18, span: 32 });
  expect(attentionSplits(1, 16, 4096, 32)).toEqual({ splits: 8, span: 512 });
  expect(attentionSplits(2, 128, 4096, 32)).toEqual({ splits: 1, span: 4096 });
});

describe.skipIf(!env.available)(`split decode attention (${cfg?.name}, ${env.description})`, () => {
  // software: CPU drivers get workgroups as wide as the head (attentionWg); false: the GPU's
  // 256-wide ones, so both run here
  it.each([undefined, false])('matches the reference over long caches (software: %s)', async (software) => {
    const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts, attentionSplitKeys: 24, ...(software === undefined ? {} : { software }) });
    try {
      const P = new Pair(be, new ReferenceBackend());
      const cases = [
        { H: 4, G: 1, D: 32, window: null, softcap: null, cap: 300 },
        { H: 4, G: 2, D: 64, window: 70, softcap: 50, cap: 300 },
        { H: 2, G: 2, D: 16, window: null, softcap: null, cap: 90 }, // ring buffer: 90 slots, 200 positions
      ];
      for (const c of cases) {
        const kvDim = c.G * c.D;
        const caches = [P.be.createKvLayer(c.cap, kvDim), P.ref.createKvLayer(c.cap, kvDim)] as const;
        let pos = 0;
        for (const rows of [64, 64, 60, 1, 3, 1, 2, 1]) {
          const k = P.tensor(rows, kvDim, randn(rows * kvDim, 10 + pos));
          const v = P.tensor(rows, kvDim, randn(rows * kvDim, 20 + pos));
          const q = P.tensor(rows, c.H * c.D, randn(rows * c.H * c.D, 30 + pos, 0.5));
          const out = P.tensor(rows, c.H * c.D);
          const p = { numHeads: c.H, numKvHeads: c.G, headDim: c.D, scale: 1 / Math.sqrt(c.D), softcap: c.softcap, window: c.window, startPos: pos };
          if (pos + rows > c.cap && rows > 1) { pos += rows; continue; } // a chunk may not overrun the ring while it attends
          P.be.kvStore(caches[0], k[0], v[0], pos); P.ref.kvStore(caches[1], k[1], v[1], pos);
          P.be.attention(out[0], q[0], caches[0], p); P.ref.attention(out[1], q[1], caches[1], p);
          expect(await P.compare(out), JSON.stringify({ ...c, pos, rows })).toBeLessThan(cfg!.tol * 10);
          pos += rows;
        }
      }
      expect(be.kernels().some((k) => k.key.startsWith('attention_combine|')), 'the split path ran').toBe(true);
      // which attention widths ran: 64 for these heads on a CPU driver, 256 otherwise
      const widths = be.kernels().filter((k) => k.key.startsWith('attention|')).map((k) => JSON.parse(k.key.split('|')[1]!).WG as number);
      expect(new Set(widths), 'attention workgroup widths').toEqual(new Set(software === false || !be.info.software ? [256] : [64]));
    } finally {
      be.dispose();
    }
  });

  it('a model decoding with small splits matches the reference', async () => {
    const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts, attentionSplitKeys: 8 });
    const spec = presetSpec('tiny-gemma-2');
    const [mg, mr] = [await loadModel(spec, be), await loadModel(spec, new ReferenceBackend())];
    try {
      const toks = tokens(40, spec.cfg.vocabSize);
      const [cg, cr] = [mg.newCache(), mr.newCache()];
      await mg.eval(toks.slice(0, 30), cg); await mr.eval(toks.slice(0, 30), cr);
      let d = 0;
      for (const t of toks.slice(30)) d = Math.max(d, maxLogSoftmaxDiff(await mg.eval([t], cg), await mr.eval([t], cr), spec.cfg.vocabSize));
      expect(d).toBeLessThan(cfg!.modelTol);
      expect(be.kernels().some((k) => k.key.startsWith('attention_combine|')), 'the split path ran').toBe(true);
    } finally {
      be.dispose();
    }
  });
});
