// Activation quantization for the integer dot products (as llama.cpp does: the weights'
// "vec_dot type"). Two schemes, one row of k values at a time:
//
//   Q8A (32-element blocks; for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 weights)   row layout:
//     q8  i8[k]       at 0        quants   q = round_even(x * 127 / amax)
//     q16 i16[k]      at k        the same quants widened (pmaddwd paths)
//     d   f32[k/32]   at 3k       block scale amax / 127  (kept in f32; ggml rounds it to f16)
//     s   i32[k/32]   at 3k+k/8   sum of the block's quants (offset/min terms of the weights)
//     plain relaxed build only (Q8_0's pmaddubsw decode path, matmul-q.ts; the dot-add build
//     reads the int8 quants), from 3k+k/4, per block b
//     of 32 at 64 b: its positive parts max(q, 0) (u8[32]), then its negative parts max(-q, 0)
//     (one stream for the kernel: as two arrays k bytes apart, a 1152 x 6912 matrix streamed
//     from DRAM at 2 threads ran at 21-24 GB/s, interleaved at 27-28; small k unchanged)
//
//   Q8K (256-element blocks; for Q4_K, Q5_K, Q6_K)   row layout:
//     q8, q16 as above; d f32[k/256] at 3k; bsum i32[k/16] at 3k + k/64 (sums over 16)
//
// Error bound: |x - d q| <= d/2 = amax/254 per element.

import { hsumi } from './common';

@inline function absMax8(x: usize): v128 {
  let m = f32x4.abs(v128.load(x));
  m = f32x4.max(m, f32x4.abs(v128.load(x, 16)));
  m = f32x4.max(m, f32x4.abs(v128.load(x, 32)));
  m = f32x4.max(m, f32x4.abs(v128.load(x, 48)));
  m = f32x4.max(m, f32x4.abs(v128.load(x, 64)));
  m = f32x4.max(m, f32x4.abs(v128.load(x, 80)));
  m = f32x4.max(m, f32x4.abs(v128.load(x, 96)));
  return f32x4.max(m, f32x4.abs(v128.load(x, 112)));
}

@inline function hmax(m: v128): f32 {
  const a = f32x4.max(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
  return max(f32x4.extract_lane(a, 0), f32x4.extract_lane(a, 1));
}

@inline function q4(x: usize, id: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(x), id)));
}

/** quantize 32 floats at x with inverse scale id: element e of a row with base `row` and k
 *  columns (layout above): int8 quants, the int16 copy and, with `parts` (relaxed Q8A), the
 *  positive parts at pp and the negative ones at pp + 32; returns the sum of the 32 quants, and with writeS16
 *  stores the sums of each 16 at s16p */
@inline function quant32(x: usize, id: v128, row: usize, k: usize, e: usize, s16p: usize, writeS16: bool, parts: bool, pp: usize): i32 {
  const q8p = row + e, q16p = row + k + (e << 1);
  const a = i16x8.narrow_i32x4_s(q4(x, id), q4(x + 16, id));
  const b = i16x8.narrow_i32x4_s(q4(x + 32, id), q4(x + 48, id));
  const c = i16x8.narrow_i32x4_s(q4(x + 64, id), q4(x + 80, id));
  const d = i16x8.narrow_i32x4_s(q4(x + 96, id), q4(x + 112, id));
  const lo = i8x16.narrow_i16x8_s(a, b), hi = i8x16.narrow_i16x8_s(c, d);
  v128.store(q8p, lo);
  v128.store(q8p, hi, 16);
  v128.store(q16p, a);
  v128.store(q16p, b, 16);
  v128.store(q16p, c, 32);
  v128.store(q16p, d, 48);
  if (parts) {
    // |q| <= 127: both parts fit the i7 operand of relaxed_dot
    const z = i8x16.splat(0), np = pp + 32;
    v128.store(pp, i8x16.max_s(lo, z));
    v128.store(pp, i8x16.max_s(hi, z), 16);
    v128.store(np, i8x16.max_s(i8x16.neg(lo), z));
    v128.store(np, i8x16.max_s(i8x16.neg(hi), z), 16);
  }
  const s0 = hsumi(i32x4.add(i32x4.extadd_pairwise_i16x8_s(a), i32x4.extadd_pairwise_i16x8_s(b)));
  const s1 = hsumi(i32x4.add(i32x4.extadd_pairwise_i16x8_s(c), i32x4.extadd_pairwise_i16x8_s(d)));
  if (writeS16) {
    store<i32>(s16p, s0);
    store<i32>(s16p, s1, 4);
  }
  return s0 + s1;
}

/** whether Q8A rows carry the positive/negative parts (the plain relaxed build) */
const Q8A_PARTS: bool = ASC_FEATURE_RELAXED_SIMD && !GEMMA_DOT_ADD;

export function q8aRowBytes(k: i32): i32 { return (Q8A_PARTS ? 5 : 3) * k + (k >> 2); }

/** offset of the positive/negative parts in a Q8A row (plain relaxed build; 64 bytes per block) */
@inline export function q8aParts(k: usize): usize { return 3 * k + (k >> 2); }
export function q8kRowBytes(k: i32): i32 { return 3 * k + (k >> 6) + (k >> 2); }

/** rows [r0, r1) of x [rows, k] (f32, row stride k) into Q8A rows of `stride` bytes at dst */
export function quantQ8A(x: usize, k: i32, dst: usize, stride: i32, r0: i32, r1: i32): void {
  const nb = k >> 5;
  for (let r = r0; r < r1; r++) {
    const xr = x + (<usize>r * <usize>k << 2);
    const base = dst + <usize>r * <usize>stride;
    const dp = base + 3 * <usize>k, sp = dp + (<usize>nb << 2);
    for (let b = 0; b < nb; b++) {
      const xb = xr + (<usize>b << 7);
      const amax = hmax(absMax8(xb));
      const id = f32x4.splat(amax > 0 ? <f32>127.0 / amax : 0);
      store<f32>(dp + (<usize>b << 2), amax / 127.0);
      const e = <usize>b << 5;
      store<i32>(sp + (<usize>b << 2), quant32(xb, id, base, <usize>k, e, 0, false, Q8A_PARTS, base + q8aParts(<usize>k) + (e << 1)));
    }
  }
}

/** rows [r0, r1) of x [rows, k] into Q8K rows (k % 256 == 0) */
export function quantQ8K(x: usize, k: i32, dst: usize, stride: i32, r0: i32, r1: i32): void {
  const nb = k >> 8;
  for (let r = r0; r < r1; r++) {
    const xr = x + (<usize>r * <usize>k << 2);
    const base = dst + <usize>r * <usize>stride;
    const dp = base + 3 * <usize>k, bs = dp + (<usize>nb << 2);
    for (let b = 0; b < nb; b++) {
      const xb = xr + (<usize>b << 10);
      let m = absMax8(xb);
      for (let j = 1; j < 8; j++) m = f32x4.max(m, absMax8(xb + (<usize>j << 7)));
      const amax = hmax(m);
      const id = f32x4.splat(amax > 0 ? <f32>127.0 / amax : 0);
      store<f32>(dp + (<usize>b << 2), amax / 127.0);
      for (let j = 0; j < 8; j++) {
        const e = (b << 8) + (j << 5); // first element of this 32-chunk
        quant32(xb + (<usize>j << 7), id, base, <usize>k, <usize>e, bs + (<usize>(e >> 4) << 2), true, false, 0);
      }
    }
  }
}
