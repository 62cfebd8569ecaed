/**
 * matvec_blocks.wgsl (decode matrix-vector over whole q8_0 / q4_0 blocks, 4 rows per lane group,
 * sums reduced by subgroup shuffles) against the reference backend: 1-4 activation rows; weights
 * of 1, 2, 7, 33, 67 and 130 rows (last groups of 1-4 rows, workgroups only partly used); rows of
 * 1 to 64 blocks (lanes with 1, 2 or more blocks, some with none); on lavapipe (subgroups of 8)
 * in the f32 and f16 configurations. Also the lane choice, and that the kernel really ran.
 */
import { describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import { blockMatvecLanes } from '../../src/kernels/webgpu/ops/matmul.js';
import { Pair, randn, randomWeight } from '../helpers/backend-conformance.js';
import { gpuEnv } from './gpu-env.js';

const env = await gpuEnv('lavapipe');

it('lanes per row: >= 2 blocks per lane up to min(32, subgroup); none without subgroups of >= 8', () => {
  expect(blockMatvecLanes('q8_0', 20, true, 32)).toBe(8);   // 640 columns
  expect(blockMatvecLanes('q8_0', 36, true, 32)).toBe(16);  // 1152
  expect(blockMatvecLanes('q8_0', 64, true, 32)).toBe(32);  // 2048
  expect(blockMatvecLanes('q8_0', 63, true, 32)).toBe(16);
  expect(blockMatvecLanes('q4_0', 216, true, 32)).toBe(32); // 6912
  expect(blockMatvecLanes('q4_0', 216, true, 16)).toBe(16);
  expect(blockMatvecLanes('q4_0', 216, true, 8)).toBe(8);
  expect(blockMatvecLanes('q4_0', 216, true, 4)).toBe(0);
  expect(blockMatvecLanes('q4_0', 216, false, 32)).toBe(0);
  expect(blockMatvecLanes('q4_k', 216, true, 32)).toBe(0);
});

describe.skipIf(!env.available || !env.hasSubgroups)(`matvec over blocks (${env.description})`, () => {
  for (const preferF16 of [false, true]) {
    it(`q8_0 and q4_0 match the reference (${preferF16 ? 'f16' : 'f32'} path)`, async () => {
      const be = await WebGpuBackend.create({ gpu: env.gpu, preferF16, subgroups: true });
      try {
        expect(be.info.subgroupSize).toBeGreaterThanOrEqual(8);
        const P = new Pair(be, new ReferenceBackend());
        for (const dtype of ['q8_0', 'q4_0'] as const) {
          for (const [m, k] of [[1, 32], [2, 64], [7, 64], [33, 320], [130, 1152], [67, 2048]] as const) {
            const w = P.weight(randomWeight(dtype, m, k, 100 + m + k));
            for (const rows of [1, 2, 3, 4]) {
              const x = P.tensor(rows, k, randn(rows * k, 5 + rows + k));
              const out = P.tensor(rows, m);
              P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
              expect(await P.compare(out), `${dtype} [${rows}x${k}] x [${m}x${k}]^T`).toBeLessThan(1e-5);
            }
          }
        }
        expect(be.kernels().filter((k) => k.key.startsWith('matvec_blocks|')).length).toBe(2);
      } finally {
        be.dispose();
      }
    });
  }
});
