// Entry point of the WASM kernels. The host (src/kernels/wasm/) calls single-threaded ops
// directly and hands multi-threaded ones to `run`, which every thread (the host's own and
// each worker) calls with its index: the job descriptor in memory says what to do and each
// thread takes its share.
//
// Job descriptor: i32 words at `job`. Op codes and layouts must match src/kernels/wasm/jobs.ts.
//   OP_MATMUL  [1, count, then count x (kind, w, xq, xs, out, m, k, T)]
//   OP_QUANT   [2, scheme (0 Q8A, 1 Q8K), x, k, dst, stride, rows]
//   OP_ATTN    [3, out, q, K, V, rows, H, G, D, cap, startPos, window, scale f32, softcap f32,
//               scratch, scratchStride]
//   OP_PROBE   [4, ptr, bytes, result slot]    read-bandwidth probe, 64-byte lines split across threads

import { attention } from './attention';
import { mmBF16, mmF16, mmF32 } from './matmul-f';
import { mmQ4_K, mmQ5_K, mmQ6_K } from './matmul-k';
import { mmQ4_0, mmQ4_1, mmQ5_0, mmQ5_1, mmQ8_0 } from './matmul-q';
import { readProbe } from './probe';
import { quantQ8A, quantQ8K } from './quantize';

export { rmsNorm, ropeApply, geglu, add, softcap, scale, expShift, capMax, zero, argmax } from './elementwise';
export { attention } from './attention';
export { quantQ8A, quantQ8K, q8aRowBytes, q8kRowBytes } from './quantize';
export { repackX4 } from './repack';
export { mmF32, mmF16, mmBF16 } from './matmul-f';
export { mmQ8_0, mmQ4_0, mmQ4_1, mmQ5_0, mmQ5_1 } from './matmul-q';
export { mmQ4_K, mmQ5_K, mmQ6_K } from './matmul-k';
export { selfTestDot } from './selftest';
export { readProbe } from './probe';

/** 1 when built with relaxed SIMD */
export function relaxed(): i32 { return ASC_FEATURE_RELAXED_SIMD ? 1 : 0; }

@inline function share(n: i32, ith: i32, nth: i32, align: i32): i32 {
  // contiguous shares rounded up to `align` items: [ith * per, (ith + 1) * per)
  const per = ((n + nth - 1) / nth + align - 1) / align * align;
  return min(n, ith * per);
}

export function matmulOne(kind: i32, w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void {
  switch (kind) {
    case 0: mmF32(w, xq, out, m, k, T, g0, g1); break;
    case 1: mmF16(w, xq, out, m, k, T, g0, g1); break;
    case 2: mmBF16(w, xq, out, m, k, T, g0, g1); break;
    case 3: mmQ8_0(w, xq, xs, out, m, k, T, g0, g1); break;
    case 4: mmQ4_0(w, xq, xs, out, m, k, T, g0, g1); break;
    case 5: mmQ4_1(w, xq, xs, out, m, k, T, g0, g1); break;
    case 6: mmQ5_0(w, xq, xs, out, m, k, T, g0, g1); break;
    case 7: mmQ5_1(w, xq, xs, out, m, k, T, g0, g1); break;
    case 8: mmQ4_K(w, xq, xs, out, m, k, T, g0, g1); break;
    case 9: mmQ5_K(w, xq, xs, out, m, k, T, g0, g1); break;
    case 10: mmQ6_K(w, xq, xs, out, m, k, T, g0, g1); break;
    default: unreachable();
  }
}

export function run(job: usize, ith: i32, nth: i32): void {
  const op = load<i32>(job);
  if (op == 1) {
    const count = load<i32>(job, 4);
    for (let i = 0; i < count; i++) {
      const d = job + 8 + (<usize>i << 5);
      const m = load<i32>(d, 20);
      const groups = (m + 3) >> 2;
      const g0 = share(groups, ith, nth, 1), g1 = share(groups, ith + 1, nth, 1);
      if (g0 < g1) matmulOne(load<i32>(d), load<usize>(d, 4), load<usize>(d, 8), load<i32>(d, 12), load<usize>(d, 16), m, load<i32>(d, 24), load<i32>(d, 28), g0, g1);
    }
  } else if (op == 2) {
    const rows = load<i32>(job, 24);
    const r0 = share(rows, ith, nth, 1), r1 = share(rows, ith + 1, nth, 1);
    if (r0 >= r1) return;
    if (load<i32>(job, 4) == 0) quantQ8A(load<usize>(job, 8), load<i32>(job, 12), load<usize>(job, 16), load<i32>(job, 20), r0, r1);
    else quantQ8K(load<usize>(job, 8), load<i32>(job, 12), load<usize>(job, 16), load<i32>(job, 20), r0, r1);
  } else if (op == 3) {
    const rows = load<i32>(job, 20), H = load<i32>(job, 24);
    const items = rows * H;
    const i0 = share(items, ith, nth, 1), i1 = share(items, ith + 1, nth, 1);
    if (i0 >= i1) return;
    attention(load<usize>(job, 4), load<usize>(job, 8), load<usize>(job, 12), load<usize>(job, 16), rows, H,
      load<i32>(job, 28), load<i32>(job, 32), load<i32>(job, 36), load<i32>(job, 40), load<i32>(job, 44),
      load<f32>(job, 48), load<f32>(job, 52), load<usize>(job, 56) + <usize>ith * <usize>load<i32>(job, 60), i0, i1);
  } else if (op == 4) {
    const lines = load<i32>(job, 8) >>> 6;
    const l0 = share(lines, ith, nth, 1), l1 = share(lines, ith + 1, nth, 1);
    const p = load<usize>(job, 4);
    const r = readProbe(p + (<usize>l0 << 6), p + (<usize>l1 << 6));
    store<i32>(load<usize>(job, 12) + (<usize>ith << 2), r);
  } else {
    unreachable();
  }
}
