// Activation quantization for the integer dot products (as llama.cpp does: the weights'
// "vec_dot type"). Two schemes, one row of k values at a time:
//
//   Q8A (32-element blocks; for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 weights)   row layout:
//     q8  i8[k]       at 0        quants   q = round_even(x * (127 / amax)), in f32
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
// Error bound: |x - d q| <= d/2 = amax/254 per element. A block whose amax is below 2^-120
// (zeros, or values so small that 127 / amax overflows f32) has all quants 0.

import { hsumi } from './common';

// The maxima below take |x| only, so the pseudo-maximum (f32x4.pmax: one maxps; f32x4.max
// must order NaNs and signed zeros, a longer sequence in V8) gives the same value for any
// finite input.
@inline function absMax8(x: usize): v128 {
  let m = f32x4.abs(v128.load(x));
  m = f32x4.pmax(m, f32x4.abs(v128.load(x, 16)));
  m = f32x4.pmax(m, f32x4.abs(v128.load(x, 32)));
  m = f32x4.pmax(m, f32x4.abs(v128.load(x, 48)));
  m = f32x4.pmax(m, f32x4.abs(v128.load(x, 64)));
  m = f32x4.pmax(m, f32x4.abs(v128.load(x, 80)));
  m = f32x4.pmax(m, f32x4.abs(v128.load(x, 96)));
  return f32x4.pmax(m, f32x4.abs(v128.load(x, 112)));
}

/** the maximum of m's four lanes, in every lane */
@inline function allMax(m: v128): v128 {
  const a = f32x4.pmax(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
  return f32x4.pmax(a, v128.shuffle<f32>(a, a, 1, 0, 3, 2));
}

/** the inverse scale 127 / amax in every lane, from amax in every lane; 0 when amax < 2^-120
 *  (a block of zeros, or of values so small that 127 / amax would overflow f32: all quants 0) */
@inline function invScale(m: v128): v128 {
  return v128.and(f32x4.div(f32x4.splat(127.0), m), f32x4.ge(m, f32x4.splat(MIN_AMAX)));
}

/** smallest block maximum that is quantized (2^-120: 127 / 2^-120 < 2^127 is finite) */
const MIN_AMAX: f32 = 7.52316384526264e-37;

/** round(x * id) to the nearest integer, ties to even, as i32 lanes: adding 1.5 * 2^23 leaves
 *  the rounded value in the low mantissa bits (exact for |x id| < 2^22; here |x id| <= 127),
 *  the same as f32x4.nearest and a truncation, in two instructions */
@inline function q4(x: usize, id: v128): v128 {
  const v = f32x4.add(f32x4.mul(v128.load(x), id), f32x4.splat(12582912.0));
  return i32x4.sub(v, i32x4.splat(0x4b400000));
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
      const m = allMax(absMax8(xb));
      const id = invScale(m);
      store<f32>(dp + (<usize>b << 2), f32x4.extract_lane(f32x4.div(m, f32x4.splat(127.0)), 0));
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
      for (let j = 1; j < 8; j++) m = f32x4.pmax(m, absMax8(xb + (<usize>j << 7)));
      m = allMax(m);
      const id = invScale(m);
      store<f32>(dp + (<usize>b << 2), f32x4.extract_lane(f32x4.div(m, f32x4.splat(127.0)), 0));
      for (let j = 0; j < 8; j++) {
        const e = (b << 8) + (j << 5); // first element of this 32-chunk
        quant32(xb + (<usize>j << 7), id, base, <usize>k, <usize>e, bs + (<usize>(e >> 4) << 2), true, false, 0);
      }
    }
  }
}
