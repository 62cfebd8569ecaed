/**
 * Selection on the GPU: argmax (ties, NaN, -inf; short rows in one workgroup, long rows in
 * parts and a merge) and top-k (largest first, ties by lower index, NaN/-inf never chosen, id -1
 * past the finite values), against a sort and a scan written here.
 */
import { describe, expect, it } from 'vitest';
import { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import { randn } from '../helpers/backend-conformance.js';
import { gpuConfigs } from './configs.js';
import { gpuEnv } from './gpu-env.js';

const env = await gpuEnv('lavapipe');
const cfg = env.available ? gpuConfigs(env)[0]! : undefined;

/** expected top-k of one row: finite values (and +inf) sorted by value desc, index asc */
function topKRef(row: Float32Array, k: number): { ids: number[]; values: number[] } {
  const idx = [...row.keys()].filter((i) => !Number.isNaN(row[i]!) && row[i]! !== -Infinity);
  idx.sort((a, b) => (row[b]! - row[a]!) || a - b);
  const ids = idx.slice(0, k);
  const values = ids.map((i) => row[i]!);
  while (ids.length < k) { ids.push(-1); values.push(-Infinity); }
  return { ids, values };
}

function rows(): Float32Array {
  const cols = 1000;
  const x = randn(3 * cols, 42, 3);
  // row 0: ties (a repeated maximum, repeated values inside the top 40)
  for (let i = 0; i < 40; i += 3) x[i * 7] = 9.5;
  x[500] = 12; x[20] = 12;
  // row 1: NaN and -inf sprinkled in, a NaN where the max would be, +inf once
  for (let i = 0; i < cols; i += 9) x[cols + i] = NaN;
  for (let i = 4; i < cols; i += 11) x[cols + i] = -Infinity;
  x[cols + 77] = Infinity;
  // row 2: only 6 finite values
  for (let i = 0; i < cols; i++) x[2 * cols + i] = i % 2 ? NaN : -Infinity;
  for (const i of [5, 105, 205, 305, 405, 505]) x[2 * cols + i] = i / 100;
  return x;
}

/** expected argmax: first index of the largest finite (or +inf) value, 0 when there is none */
function argmaxRef(row: Float32Array): number {
  let best = -1;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (Number.isNaN(v) || v === -Infinity) continue;
    if (best < 0 || v > row[best]!) best = i;
  }
  return Math.max(best, 0);
}

describe.skipIf(!env.available)(`GPU selection (${cfg?.name}, ${env.description})`, () => {
  it('argmax of long rows (several workgroups per row, then a merge) matches a scan', async () => {
    const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts });
    try {
      const cols = 20000; // 5 parts of 4096, the last one partial
      const x = randn(4 * cols, 7, 2);
      // row 0: the maximum three times, at the end of part 0, the start of part 1 and in part 3
      for (const i of [4095, 4096, 15000]) x[i] = 50;
      // row 1: nothing finite but one value in the last part
      for (let i = 0; i < cols; i++) x[cols + i] = i % 3 ? NaN : -Infinity;
      x[cols + 19999] = -7;
      // row 2: nothing finite at all
      for (let i = 0; i < cols; i++) x[2 * cols + i] = i % 2 ? NaN : -Infinity;
      const t = be.tensor(4, cols);
      be.upload(t, x);
      const am = await be.argmax(t);
      expect(Array.from(am)).toEqual([0, 1, 2, 3].map((r) => argmaxRef(x.subarray(r * cols, (r + 1) * cols))));
      expect(am[0]).toBe(4095);
      expect(am[1]).toBe(19999);
      expect(am[2]).toBe(0);
      // one Gemma 3 sized row
      const V = 262144, y = randn(V, 9, 3);
      const u = be.tensor(1, V);
      be.upload(u, y);
      expect((await be.argmax(u))[0]).toBe(argmaxRef(y));
      expect(be.kernels().some((k) => k.key.startsWith('argmax_parts|')), 'the two-pass kernels ran').toBe(true);
    } finally {
      be.dispose();
    }
  });


  it('argmax and top-k match a sort', async () => {
    const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts });
    try {
      const data = rows(), cols = 1000;
      const t = be.tensor(3, cols);
      be.upload(t, data);
      const am = await be.argmax(t);
      for (let r = 0; r < 3; r++) expect(am[r], `argmax row ${r}`).toBe(topKRef(data.subarray(r * cols, (r + 1) * cols), 1).ids[0]);
      for (const k of [1, 5, 40]) {
        const got = await be.topK(t, k);
        for (let r = 0; r < 3; r++) {
          const want = topKRef(data.subarray(r * cols, (r + 1) * cols), k);
          expect(Array.from(got.ids.subarray(r * k, (r + 1) * k)), `k ${k} row ${r} ids`).toEqual(want.ids);
          expect(Array.from(got.values.subarray(r * k, (r + 1) * k)), `k ${k} row ${r} values`).toEqual(want.values.map((v) => Math.fround(v)));
        }
      }
      // the input is untouched (top-k works on a copy)
      expect(Array.from(await be.download(t)).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(Array.from(data).map((v) => (Number.isNaN(v) ? 'NaN' : v)));
      await expect(be.topK(t, 0)).rejects.toThrow(/topK/);
    } finally {
      be.dispose();
    }
  });
});
