/**
 * matvec_blocks.wgsl (decode matrix-vector over q8_0 / q4_0 / q4_k / q6_k / f32 / f16 / bf16 in
 * units of 8, 8-256 invocations per row, sums reduced by subgroup shuffles and, when a row spans
 * several subgroups, workgroup memory) against the reference backend: 1-4 activation rows;
 * weights of 1 to 130 rows (workgroups only partly used); rows of 1 to 216 blocks. On lavapipe
 * (subgroups of 8): the f32 configuration with a GPU's kernel choices (rows within one subgroup
 * and rows across several), the f16 configuration with the CPU driver's own (one subgroup per
 * row, no barriers). Also the choice of invocations per row, and that the kernels really ran.
 * And matvec_multi.wgsl (q/k/v, or gate/up with GeGLU, in one dispatch) against separate
 * products and geglu.
 */
import { describe, expect, it } from 'vitest';
import { matmulGegluPlain, matmulQkvPlain } from '../../src/kernels/backend.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import { blockMatvecLanes } from '../../src/kernels/webgpu/ops/matmul.js';
import { Pair, randn, randomWeight } from '../helpers/backend-conformance.js';
import { gpuEnv } from './gpu-env.js';

const env = await gpuEnv('lavapipe');

it('invocations per row: the power of two in [8, 256] at or below the units of 8 quants, fewer for tall matrices; none without subgroups', () => {
  expect(blockMatvecLanes('q8_0', 1, true, 1000)).toBe(8);      // 32 columns: 4 units
  expect(blockMatvecLanes('q8_0', 20, true, 1000)).toBe(64);    // 640: 80 units
  expect(blockMatvecLanes('q8_0', 36, true, 1000)).toBe(128);   // 1152: 144
  expect(blockMatvecLanes('q8_0', 63, true, 1000)).toBe(128);   // 2016: 252
  expect(blockMatvecLanes('q8_0', 64, true, 1000)).toBe(256);   // 2048: 256
  expect(blockMatvecLanes('q4_0', 216, true, 1000)).toBe(256);  // 6912: 864
  expect(blockMatvecLanes('q4_0', 216, false, 1000)).toBe(0);
  expect(blockMatvecLanes('q5_k', 216, true, 1000)).toBe(0);   // no unit dot for it
  expect(blockMatvecLanes('q4_k', 8 * 9, true, 1000)).toBe(256); // 2304 columns: 9 super-blocks = 72 groups of 32
  expect(blockMatvecLanes('bf16', 36, true, 1000)).toBe(128);  // 1152 bf16 columns: 36 groups of 32
  expect(blockMatvecLanes('bf16', 0, true, 1000)).toBe(0);     // (unitGroups: not a multiple of 32)
  // tall matrices: rows x lanes stays near 2^19
  expect(blockMatvecLanes('q8_0', 36, true, 262144)).toBe(8);    // Gemma 3 LM head: 144 units
  expect(blockMatvecLanes('q8_0', 80, true, 10240)).toBe(32);    // 4B FFN: 320 units
  expect(blockMatvecLanes('q8_0', 36, true, 6912)).toBe(64);     // 1B FFN: 144 units
});

describe.skipIf(!env.available || !env.hasSubgroups)(`matvec over blocks (${env.description})`, () => {
  for (const preferF16 of [false, true]) {
    it(`q8_0, q4_0, q4_k, q6_k, f32, f16 and bf16 match the reference (${preferF16 ? 'f16' : 'f32'} path)`, async () => {
      // the f32 run takes a GPU's kernel choices (rows across subgroups: CROSS), the f16 run the
      // CPU driver's own (at most one subgroup per row)
      const be = await WebGpuBackend.create({ gpu: env.gpu, preferF16, subgroups: true, software: preferF16 ? undefined : false });
      try {
        const P = new Pair(be, new ReferenceBackend());
        for (const dtype of ['q8_0', 'q4_0', 'q4_k', 'q6_k', 'f32', 'f16', 'bf16'] as const) {
          for (const [m0, k0] of [[1, 32], [2, 64], [7, 64], [33, 320], [130, 1152], [67, 2048], [3, 6912]] as const) {
            // K-quant rows are whole super-blocks of 256
            const k = dtype.endsWith('_k') ? Math.ceil(k0 / 256) * 256 : k0, m = m0;
            const w = P.weight(randomWeight(dtype, m, k, 100 + m + k));
            for (const rows of [1, 2, 3, 4]) {
              const x = P.tensor(rows, k, randn(rows * k, 5 + rows + k));
              const out = P.tensor(rows, m);
              P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
              expect(await P.compare(out), `${dtype} [${rows}x${k}] x [${m}x${k}]^T`).toBeLessThan(1e-5);
            }
          }
        }
        const blocks = be.kernels().filter((k) => k.key.startsWith('matvec_blocks|'));
        expect(new Set(blocks.map((k) => JSON.parse(k.key.split('|')[1]!).DTYPE)).size).toBe(7);
        expect(blocks.some((k) => k.key.includes('"CROSS":true'))).toBe(!preferF16);
        // a float row that is not a multiple of 32 long takes the general kernel, and is right too
        const w = P.weight(randomWeight('bf16', 9, 40, 77)), x = P.tensor(1, 40, randn(40, 78)), out = P.tensor(1, 9);
        P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
        expect(await P.compare(out)).toBeLessThan(1e-5);
        expect(be.kernels().some((k) => k.key.startsWith('matvec|')), 'matvec.wgsl ran').toBe(true);
      } finally {
        be.dispose();
      }
    });
  }

  for (const preferF16 of [false, true]) {
    it(`several weights in one dispatch: q/k/v and gate/up with GeGLU (${preferF16 ? 'f16' : 'f32'} path)`, async () => {
      // the f32 run takes a GPU's kernel choices (rows across subgroups: CROSS), the f16 run the
      // CPU driver's own (at most one subgroup per row)
      const be = await WebGpuBackend.create({ gpu: env.gpu, preferF16, subgroups: true, software: preferF16 ? undefined : false });
      try {
        const P = new Pair(be, new ReferenceBackend());
        for (const [dq, dk, m, kv, k] of [['q8_0', 'q8_0', 33, 8, 320], ['q4_0', 'q4_0', 130, 32, 1152], ['bf16', 'bf16', 20, 4, 96], ['q4_k', 'q4_k', 24, 8, 512], ['q6_k', 'q6_k', 9, 3, 256], ['q8_0', 'q4_0', 40, 16, 256]] as const) {
          const wq = P.weight(randomWeight(dq, m, k, 1 + k)), wk = P.weight(randomWeight(dk, kv, k, 2 + k)), wv = P.weight(randomWeight(dk, kv, k, 3 + k));
          const wg = P.weight(randomWeight(dq, m, k, 4 + k)), wu = P.weight(randomWeight(dq, m, k, 5 + k));
          for (const rows of [1, 2, 4]) {
            const what = `${dq}/${dk} m ${m} kv ${kv} k ${k} rows ${rows}`;
            const x = P.tensor(rows, k, randn(rows * k, 9 + rows));
            const [q, kk, v] = [P.tensor(rows, m), P.tensor(rows, kv), P.tensor(rows, kv)];
            be.matmulQkv(q[0], kk[0], v[0], x[0], wq[0], wk[0], wv[0]);
            matmulQkvPlain(P.ref, q[1], kk[1], v[1], x[1], wq[1], wk[1], wv[1]);
            for (const t of [q, kk, v]) expect(await P.compare(t), `qkv ${what}`).toBeLessThan(1e-5);
            const [g, u] = [P.tensor(rows, m), P.tensor(rows, m)];
            be.matmulGeglu(g[0], x[0], wg[0], wu[0], u[0]);
            matmulGegluPlain(P.ref, g[1], x[1], wg[1], wu[1], u[1]);
            expect(await P.compare(g), `geglu ${what}`).toBeLessThan(1e-5);
          }
        }
        // the mixed-format case falls back to separate products; the others ran fused
        const multi = be.kernels().filter((k) => k.key.startsWith('matvec_multi|')).map((k) => JSON.parse(k.key.split('|')[1]!));
        expect(new Set(multi.map((d) => `${d.DTYPE} ${d.GEGLU}`)).size).toBe(10);
        expect(multi.some((d) => d.CROSS)).toBe(!preferF16);
      } finally {
        be.dispose();
      }
    });
  }
});
