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

import { dotQ8r, dotU32, f16x4, fma, hadd4i } from './common';

/** activation rows per tile: about 512 KiB of them (at least 2, even) */
@inline export function tokenTile(rowBytes: i32): i32 {
  return max(2, (524288 / rowBytes) & ~1);
}

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

@inline function dotW(w0: v128, w1: v128, w2: v128, w3: v128, xp: usize): v128 {
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(xp)), i32x4.dot_i16x8_s(w1, v128.load(xp, 16))),
    i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(xp, 32)), i32x4.dot_i16x8_s(w3, v128.load(xp, 48))),
  );
}

/** relaxed build: one activation row (Q8A, x+ at xr + k, x- at xr + 2k) against group g */
@inline function rowQ8_0r(gp: usize, xr: usize, k: i32, nb: i32): v128 {
  const xpp = xr + <usize>k, xd = xr + 3 * <usize>k;
  let acc = f32x4.splat(0);
  let p = gp;
  for (let b = 0; b < nb; b++) {
    const pp = xpp + (<usize>b << 5), np = pp + <usize>k;
    const p0 = v128.load(pp), p1 = v128.load(pp, 16), n0 = v128.load(np), n1 = v128.load(np, 16);
    const s = hadd4i(dotQ8r(p + 8, p0, p1, n0, n1), dotQ8r(p + 40, p0, p1, n0, n1), dotQ8r(p + 72, p0, p1, n0, n1), dotQ8r(p + 104, p0, p1, n0, n1));
    acc = fma(f32x4.convert_i32x4_s(s), f32x4.mul(f16x4(p), f32x4.splat(load<f32>(xd + (<usize>b << 2)))), acc);
    p += 136;
  }
  return acc;
}

/**
 * Q8_0: signed 8-bit levels. Relaxed build: pmaddubsw against the activations' positive and
 * negative parts (common.ts dotQ8r), one activation row at a time (the group's weights stay in L1 for
 * the next). SIMD128 build: weights widened to int16 and multiplied with pmaddwd, activation
 * rows two at a time (prefill), sharing each row's widened weights.
 */
export function mmQ8_0(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void {
  const nb = k >> 5;
  const gs = <usize>nb * 136;
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by
  const tt = tokenTile(xs);
  if (ASC_FEATURE_RELAXED_SIMD) {
    for (let t0 = 0; t0 < T; t0 += tt) {
      const t1 = min(T, t0 + tt);
      for (let g = g0; g < g1; g++) {
        const gp = w + <usize>g * gs;
        for (let t = t0; t < t1; t++) storeRows(out, t, m, g, rowQ8_0r(gp, xq + <usize>t * <usize>xs, k, nb));
      }
    }
    return;
  }
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    for (let g = g0; g < g1; g++) {
      const gp = w + <usize>g * gs;
      let t = t0;
      for (; t + 2 <= t1; t += 2) {
        const xa = xq + <usize>t * <usize>xs, xb = xa + <usize>xs;
        const x16a = xa + <usize>k, x16b = xb + <usize>k, xda = xa + 3 * <usize>k, xdb = xb + 3 * <usize>k;
        let acca = f32x4.splat(0), accb = acca;
        let p = gp;
        for (let b = 0; b < nb; b++) {
          const pa = x16a + (<usize>b << 6), pb = x16b + (<usize>b << 6);
          let w0 = v128.load_ext<i8>(p, 8), w1 = v128.load_ext<i8>(p, 16), w2 = v128.load_ext<i8>(p, 24), w3 = v128.load_ext<i8>(p, 32);
          const a0 = dotW(w0, w1, w2, w3, pa), b0 = dotW(w0, w1, w2, w3, pb);
          w0 = v128.load_ext<i8>(p, 40); w1 = v128.load_ext<i8>(p, 48); w2 = v128.load_ext<i8>(p, 56); w3 = v128.load_ext<i8>(p, 64);
          const a1 = dotW(w0, w1, w2, w3, pa), b1 = dotW(w0, w1, w2, w3, pb);
          w0 = v128.load_ext<i8>(p, 72); w1 = v128.load_ext<i8>(p, 80); w2 = v128.load_ext<i8>(p, 88); w3 = v128.load_ext<i8>(p, 96);
          const a2 = dotW(w0, w1, w2, w3, pa), b2 = dotW(w0, w1, w2, w3, pb);
          w0 = v128.load_ext<i8>(p, 104); w1 = v128.load_ext<i8>(p, 112); w2 = v128.load_ext<i8>(p, 120); w3 = v128.load_ext<i8>(p, 128);
          const a3 = dotW(w0, w1, w2, w3, pa), b3 = dotW(w0, w1, w2, w3, pb);
          const d4 = f16x4(p);
          acca = fma(f32x4.convert_i32x4_s(hadd4i(a0, a1, a2, a3)), f32x4.mul(d4, f32x4.splat(load<f32>(xda + (<usize>b << 2)))), acca);
          accb = fma(f32x4.convert_i32x4_s(hadd4i(b0, b1, b2, b3)), f32x4.mul(d4, f32x4.splat(load<f32>(xdb + (<usize>b << 2)))), accb);
          p += 136;
        }
        storeRows(out, t, m, g, acca);
        storeRows(out, t + 1, m, g, accb);
      }
      for (; t < t1; t++) {
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

/** the unsigned levels of elements 0..15 (hi = false) or 16..31 of row i of a unit */
@inline function levels(fmt: i32, p: usize, qs: usize, qh: usize, i: usize, hi: bool): v128 {
  const w = v128.load(p + qs + (i << 4));
  let v = hi ? i8x16.shr_u(w, 4) : v128.and(w, i8x16.splat(0x0f));
  if (fmt >= 2) v = v128.or(v, qhBits(load<u32>(p + qh + (i << 2)), hi));
  return v;
}

/** the four rows' integer dots with one activation block, minus the level offset */
@inline function unitDots(fmt: i32, p: usize, qs: usize, qh: usize, x8: usize, x16: usize, sx: i32): v128 {
  let s = hadd4i(
    dotU32(levels(fmt, p, qs, qh, 0, false), levels(fmt, p, qs, qh, 0, true), x8, x16),
    dotU32(levels(fmt, p, qs, qh, 1, false), levels(fmt, p, qs, qh, 1, true), x8, x16),
    dotU32(levels(fmt, p, qs, qh, 2, false), levels(fmt, p, qs, qh, 2, true), x8, x16),
    dotU32(levels(fmt, p, qs, qh, 3, false), levels(fmt, p, qs, qh, 3, true), x8, x16));
  if (fmt == 0) s = i32x4.sub(s, i32x4.splat(sx << 3));
  if (fmt == 2) s = i32x4.sub(s, i32x4.splat(sx << 4));
  return s;
}

/** y += d_w d_x s  (+ m_w d_x s_x for the formats with a min) */
@inline function unitAcc(fmt: i32, p: usize, acc: v128, s: v128, dx: f32, sx: i32): v128 {
  acc = fma(f32x4.convert_i32x4_s(s), f32x4.mul(f16x4(p), f32x4.splat(dx)), acc);
  if (fmt == 1 || fmt == 3) acc = fma(f16x4(p + 8), f32x4.splat(dx * <f32>sx), acc);
  return acc;
}

/**
 * One kernel body for the four 4/5-bit formats: `fmt` is a compile-time constant after
 * inlining (0 = Q4_0, 1 = Q4_1, 2 = Q5_0, 3 = Q5_1). Activation rows go two at a time
 * (prefill): the unit's levels come from L1 for the second row.
 */
@inline function mmQ45(fmt: i32, w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void {
  const unit: usize = fmt == 0 ? 72 : fmt == 1 ? 80 : fmt == 2 ? 88 : 96;
  const qs: usize = fmt == 0 ? 8 : fmt == 1 ? 16 : fmt == 2 ? 24 : 32; // offset of row 0's nibbles
  const qh: usize = fmt == 2 ? 8 : 16;                                 // offset of row 0's fifth bits
  const nb = k >> 5;
  const gs = <usize>nb * unit;
  const x16o = <usize>k, xdo = 3 * <usize>k, xso = xdo + (<usize>nb << 2);
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by
  const tt = tokenTile(xs);
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    for (let g = g0; g < g1; g++) {
      const gp = w + <usize>g * gs;
      let t = t0;
      for (; t + 2 <= t1; t += 2) {
        const xa = xq + <usize>t * <usize>xs, xb = xa + <usize>xs;
        let acca = f32x4.splat(0), accb = acca;
        let p = gp;
        for (let b = 0; b < nb; b++) {
          const o8 = <usize>b << 5, o16 = <usize>b << 6, o4 = <usize>b << 2;
          const sxa = load<i32>(xa + xso + o4), sxb = load<i32>(xb + xso + o4);
          const sa = unitDots(fmt, p, qs, qh, xa + o8, xa + x16o + o16, sxa);
          const sb = unitDots(fmt, p, qs, qh, xb + o8, xb + x16o + o16, sxb);
          acca = unitAcc(fmt, p, acca, sa, load<f32>(xa + xdo + o4), sxa);
          accb = unitAcc(fmt, p, accb, sb, load<f32>(xb + xdo + o4), sxb);
          p += unit;
        }
        storeRows(out, t, m, g, acca);
        storeRows(out, t + 1, m, g, accb);
      }
      for (; t < t1; t++) {
        const xr = xq + <usize>t * <usize>xs;
        let acc = f32x4.splat(0);
        let p = gp;
        for (let b = 0; b < nb; b++) {
          const o4 = <usize>b << 2;
          const sx = load<i32>(xr + xso + o4);
          const s = unitDots(fmt, p, qs, qh, xr + (<usize>b << 5), xr + x16o + (<usize>b << 6), sx);
          acc = unitAcc(fmt, p, acc, s, load<f32>(xr + xdo + o4), sx);
          p += unit;
        }
        storeRows(out, t, m, g, acc);
      }
    }
  }
}

export function mmQ4_0(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45(0, w, xq, xs, out, m, k, T, g0, g1); }
export function mmQ4_1(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45(1, w, xq, xs, out, m, k, T, g0, g1); }
export function mmQ5_0(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45(2, w, xq, xs, out, m, k, T, g0, g1); }
export function mmQ5_1(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45(3, w, xq, xs, out, m, k, T, g0, g1); }

