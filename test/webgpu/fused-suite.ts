/**
 * The fused forward-pass steps of the WebGPU backend (qkRopeStore, residualNorm) against the
 * plain ops they replace, run on the reference backend: QK-norm on and off, GQA/MQA, head
 * dimensions 16-256, prefill and decode rows, a ring-buffer cache that wraps, rows longer than
 * 1024 with tails, with and without the sandwich norm; in every configuration of the driver
 * (fused.test.ts: lavapipe, f16 path; fused-f32.test.ts: SwiftShader, f32 path; each with
 * subgroup and workgroup-memory reductions). The whole-model tests cover the same steps inside
 * the forward pass.
 */
import { describe, expect, it } from 'vitest';
import { qkRopeStorePlain, residualNormPlain, type Weight } from '../../src/kernels/backend.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import { Pair, randn } from '../helpers/backend-conformance.js';
import { gpuConfigs } from './configs.js';
import { type Driver, gpuEnv } from './gpu-env.js';

function normWeight(P: Pair, n: number, seed: number): [Weight, Weight] {
  return P.weight({ name: 'norm', dtype: 'f32', shape: [n], data: new Uint8Array(randn(n, seed, 0.3).map((v) => 1 + v).buffer) });
}

/**
 * qkRopeStore on `be` against the plain ops on the reference backend, checked through attention
 * over the cache it wrote: QK-norm on and off, GQA/MQA, head dimensions 16-256, prefill and
 * decode rows, a ring buffer that wraps. Asserts q within 1e-5; returns the worst attention
 * error (relative to max(1, max |ref|)).
 */
export async function qkRopeStoreAttention(be: WebGpuBackend): Promise<number> {
  const P = new Pair(be, new ReferenceBackend());
  const cases = [
    { H: 4, G: 1, D: 32, norm: true, cap: 64 },
    { H: 4, G: 2, D: 16, norm: false, cap: 10 }, // ring buffer: 10 slots, positions up to 13
    { H: 8, G: 4, D: 256, norm: true, cap: 16 },
  ];
  let worst = 0;
  for (const c of cases) {
    const kvDim = c.G * c.D;
    const caches = [P.be.createKvLayer(c.cap, kvDim), P.ref.createKvLayer(c.cap, kvDim)] as const;
    const qn = c.norm ? normWeight(P, c.D, 5) : null, kn = c.norm ? normWeight(P, c.D, 6) : null;
    let pos = 0;
    for (const rows of [5, 1, 3, 1, 1, 2]) {
      const q = P.tensor(rows, c.H * c.D, randn(rows * c.H * c.D, 10 + pos, 2));
      const k = P.tensor(rows, kvDim, randn(rows * kvDim, 20 + pos, 2));
      const v = P.tensor(rows, kvDim, randn(rows * kvDim, 30 + pos));
      const rope = { headDim: c.D, startPos: pos, theta: pos % 2 ? 10000 : 1e6, scaling: pos % 2 ? 1 : 8 };
      be.qkRopeStore(q[0], k[0], v[0], caches[0], qn && qn[0], kn && kn[0], 1e-6, rope);
      qkRopeStorePlain(P.ref, q[1], k[1], v[1], caches[1], qn && qn[1], kn && kn[1], 1e-6, rope);
      expect(await P.compare(q), `q ${JSON.stringify(c)} pos ${pos} rows ${rows}`).toBeLessThan(1e-5);
      const out = P.tensor(rows, c.H * c.D);
      const ap = { numHeads: c.H, numKvHeads: c.G, headDim: c.D, scale: 1 / Math.sqrt(c.D), softcap: null, window: null, startPos: pos };
      P.be.attention(out[0], q[0], caches[0], ap); P.ref.attention(out[1], q[1], caches[1], ap);
      worst = Math.max(worst, await P.compare(out));
      pos += rows;
    }
    P.be.freeKvLayer(caches[0]);
  }
  return worst;
}

export async function describeFused(driver: Driver): Promise<void> {
  const env = await gpuEnv(driver);
describe.skipIf(!env.available)(`fused steps (${env.description})`, () => {
  for (const cfg of env.available ? gpuConfigs(env) : []) {
    it(`${cfg.name}: residualNorm = rmsNorm(o) + add + rmsNorm`, async () => {
      const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg.opts });
      try {
        const P = new Pair(be, new ReferenceBackend());
        for (const [rows, n] of [[1, 64], [3, 1030], [2, 2560], [4, 90]] as const) {
          for (const post of [true, false]) {
            const h = P.tensor(rows, n, randn(rows * n, 1 + n, 2)), o = P.tensor(rows, n, randn(rows * n, 2 + n, 3));
            const x = P.tensor(rows, n);
            const wp = post ? normWeight(P, n, 3) : null, wn = normWeight(P, n, 4);
            be.residualNorm(h[0], o[0], wp && wp[0], x[0], wn[0], 1e-6);
            residualNormPlain(P.ref, h[1], o[1], wp && wp[1], x[1], wn[1], 1e-6);
            expect(await P.compare(h), `h [${rows}, ${n}] post ${post}`).toBeLessThan(1e-5);
            expect(await P.compare(x), `x [${rows}, ${n}] post ${post}`).toBeLessThan(1e-5);
          }
        }
        expect(be.kernels().some((k) => k.key.startsWith('residual_norm|')), 'the fused kernel ran').toBe(true);
      } finally {
        be.dispose();
      }
    });

    it(`${cfg.name}: qkRopeStore = QK-norm + RoPE + kvStore (checked through attention)`, async () => {
      const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg.opts });
      try {
        expect(await qkRopeStoreAttention(be), 'attention').toBeLessThan(cfg.f16 ? 5e-3 : 1e-5);
        expect(be.kernels().filter((k) => k.key.startsWith('qk_rope_store|')).length, 'both fused variants ran').toBe(2);
      } finally {
        be.dispose();
      }
    });
  }
});
}
