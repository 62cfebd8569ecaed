// Matrix-vector / matrix-matrix products for the 32-element block formats
// (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) against Q8A-quantized activations (quantize.ts).
//
// Weight layout ("x4", made by repack.ts at upload): rows are taken four at a time
// (a group; the last group is padded with zero rows) and block column b of the four rows
// is stored as one unit, the block's fields interleaved field by field:
//   Q8_0  [d x4 f16][qs row0 32][qs row1][qs row2][qs row3]                 136 bytes
//   Q4_0  [d x4][qs x4 16 bytes]                                            72
//   Q4_1  [d x4][m x4][qs x4]                                               80
//   Q5_0  [d x4][qh x4 u32][qs x4]                                          88
//   Q5_1  [d x4][m x4][qh x4][qs x4]                                        96
// so that one thread reads one sequential stream (several interleaved row streams run at
// a third of the speed on the machines we measured), and the four scales of a unit load
// as one vector.
//
// Per unit and activation row: four i32x4 partial dot products -> hadd4 -> (row0..row3)
// integer dots, converted once and scaled by d_w(4 lanes) * d_x:
//   y[r] += d_w[r] d_x (sum_j q_w[r,j] q_x[j] - o * s_x)   (+ m_w[r] d_x s_x for Q4_1/Q5_1)
// with o the level offset of the format (8 for Q4_0, 16 for Q5_0; weights are read as
// unsigned levels) and s_x the block's quant sum.
//
// Loops: group g (a contiguous range per thread), then activation row t, then blocks.
// A group's weights (k/32 units) stay in L1/L2 while all activation rows pass over them.

import { dotU32, f16x4, fma, hadd4i } from './common';

@inline export function storeRows(out: usize, t: i32, m: i32, g: i32, v: v128): void {
  const p = out + ((<usize>t * <usize>m + (<usize>g << 2)) << 2);
  const left = m - (g << 2);
  if (left >= 4) { v128.store(p, v); return; }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (left > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (left > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

@inline function dotS32(p: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(v128.load_ext<i8>(p), x0), i32x4.dot_i16x8_s(v128.load_ext<i8>(p, 8), x1)),
    i32x4.add(i32x4.dot_i16x8_s(v128.load_ext<i8>(p, 16), x2), i32x4.dot_i16x8_s(v128.load_ext<i8>(p, 24), x3)),
  );
}

/** Q8_0: signed 8-bit levels, widened to int16 and multiplied with pmaddwd in both builds */
export function mmQ8_0(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void {
  const nb = k >> 5;
  const gs = <usize>nb * 136;
  for (let g = g0; g < g1; g++) {
    const gp = w + <usize>g * gs;
    for (let t = 0; t < T; t++) {
      const xr = xq + <usize>t * <usize>xs;
      const x16 = xr + <usize>k, xd = xr + 3 * <usize>k;
      let acc = f32x4.splat(0);
      let p = gp;
      for (let b = 0; b < nb; b++) {
        const xp = x16 + (<usize>b << 6);
        const x0 = v128.load(xp), x1 = v128.load(xp, 16), x2 = v128.load(xp, 32), x3 = v128.load(xp, 48);
        const s = hadd4i(dotS32(p + 8, x0, x1, x2, x3), dotS32(p + 40, x0, x1, x2, x3), dotS32(p + 72, x0, x1, x2, x3), dotS32(p + 104, x0, x1, x2, x3));
        acc = fma(f32x4.convert_i32x4_s(s), f32x4.mul(f16x4(p), f32x4.splat(load<f32>(xd + (<usize>b << 2)))), acc);
        p += 136;
      }
      storeRows(out, t, m, g, acc);
    }
  }
}

/** 4-bit levels of one row: low nibbles are elements 0..15, high nibbles 16..31 */
@inline function dotNib(p: usize, x8: usize, x16: usize): v128 {
  const w = v128.load(p);
  return dotU32(v128.and(w, i8x16.splat(0x0f)), i8x16.shr_u(w, 4), x8, x16);
}

/** 0x10 in each byte lane whose bit is set in qh: bits 0..15 (lo) or 16..31 (hi) */
@inline function qhBits(qh: u32, hi: bool): v128 {
  const v = i32x4.splat(qh);
  const bytes = hi
    ? i8x16.shuffle(v, v, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)
    : i8x16.shuffle(v, v, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const mask = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return v128.and(i8x16.eq(v128.and(bytes, mask), mask), i8x16.splat(0x10));
}

/** 5-bit levels of one row: nibbles at p, fifth bits in the u32 at qhp */
@inline function dotNib5(p: usize, qhp: usize, x8: usize, x16: usize): v128 {
  const w = v128.load(p);
  const qh = load<u32>(qhp);
  return dotU32(v128.or(v128.and(w, i8x16.splat(0x0f)), qhBits(qh, false)), v128.or(i8x16.shr_u(w, 4), qhBits(qh, true)), x8, x16);
}

/**
 * One kernel body for the four 4/5-bit formats: `fmt` is a compile-time constant after
 * inlining (0 = Q4_0, 1 = Q4_1, 2 = Q5_0, 3 = Q5_1).
 */
@inline function mmQ45(fmt: i32, w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void {
  const unit: usize = fmt == 0 ? 72 : fmt == 1 ? 80 : fmt == 2 ? 88 : 96;
  const qs: usize = fmt == 0 ? 8 : fmt == 1 ? 16 : fmt == 2 ? 24 : 32; // offset of row 0's nibbles
  const qh: usize = fmt == 2 ? 8 : 16;                                 // offset of row 0's fifth bits
  const nb = k >> 5;
  const gs = <usize>nb * unit;
  for (let g = g0; g < g1; g++) {
    const gp = w + <usize>g * gs;
    for (let t = 0; t < T; t++) {
      const xr = xq + <usize>t * <usize>xs;
      const x16r = xr + <usize>k, xd = xr + 3 * <usize>k, xsum = xd + (<usize>nb << 2);
      let acc = f32x4.splat(0);
      let p = gp;
      for (let b = 0; b < nb; b++) {
        const x8 = xr + (<usize>b << 5), x16 = x16r + (<usize>b << 6);
        let s: v128;
        if (fmt < 2) {
          s = hadd4i(dotNib(p + qs, x8, x16), dotNib(p + qs + 16, x8, x16), dotNib(p + qs + 32, x8, x16), dotNib(p + qs + 48, x8, x16));
        } else {
          s = hadd4i(dotNib5(p + qs, p + qh, x8, x16), dotNib5(p + qs + 16, p + qh + 4, x8, x16),
            dotNib5(p + qs + 32, p + qh + 8, x8, x16), dotNib5(p + qs + 48, p + qh + 12, x8, x16));
        }
        const dx = load<f32>(xd + (<usize>b << 2));
        const sx = load<i32>(xsum + (<usize>b << 2));
        if (fmt == 0) s = i32x4.sub(s, i32x4.splat(sx << 3));
        if (fmt == 2) s = i32x4.sub(s, i32x4.splat(sx << 4));
        acc = fma(f32x4.convert_i32x4_s(s), f32x4.mul(f16x4(p), f32x4.splat(dx)), acc);
        if (fmt == 1 || fmt == 3) acc = fma(f16x4(p + 8), f32x4.splat(dx * <f32>sx), acc);
        p += unit;
      }
      storeRows(out, t, m, g, acc);
    }
  }
}

export function mmQ4_0(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45(0, w, xq, xs, out, m, k, T, g0, g1); }
export function mmQ4_1(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45(1, w, xq, xs, out, m, k, T, g0, g1); }
export function mmQ5_0(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45(2, w, xq, xs, out, m, k, T, g0, g1); }
export function mmQ5_1(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45(3, w, xq, xs, out, m, k, T, g0, g1); }
