// Matrix-vector / matrix-matrix products for the 32-element block formats
// (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) against Q8A-quantized activations (quantize.ts).
//
// Weight layout ("x4", made by repack.ts at upload): rows are taken four at a time
// (a group; the last group is padded with zero rows) and block column b of the four rows
// is stored as one unit, the block's fields interleaved field by field:
//   Q8_0  [d x4 f16][qs row0 32][qs row1][qs row2][qs row3]                 136 bytes
//   Q4_0  [d x4][qs x4 16 bytes]                                            72
//   Q4_1  [d x4][m x4][qs x4]                                               80
//   Q5_0  [d x4][qh x4 u32, bit-sliced][qs x4]                              88
//   Q5_1  [d x4][m x4][qh x4, bit-sliced][qs x4]                            96
// (qh bit-sliced at upload: byte j, bit 2i + h = row i's fifth bit of element j + 16 h; see
// repack.ts sliceQh, qhBits below)
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

import { byteMask, dotQ8r, dotU8, dotU32, f16Bias, f16Mask, f16x4, fma, groupPtr, hadd4i, hiNibbles, moveBits, onesI16, transposeStore, vec4 } from './common';
import { q8aParts } from './quantize';

/** activation rows per tile: about 512 KiB of them (at least 2, even; host: jobs.ts tokenTile) */
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

/** the results of activation rows t..t+3 for group g (storeRows each) */
@inline export function storeRows4(out: usize, t: i32, m: i32, g: i32, f0: v128, f1: v128, f2: v128, f3: v128): void {
  storeRows(out, t, m, g, f0);
  storeRows(out, t + 1, m, g, f1);
  storeRows(out, t + 2, m, g, f2);
  storeRows(out, t + 3, m, g, f3);
}

/** one row's 32 weights (sign-extended from 8-byte loads at literal offsets o..o+24 of p) . x0..x3 */
@inline function dotS32(a: v128, b: v128, c: v128, d: v128, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(a, x0), i32x4.dot_i16x8_s(b, x1)),
    i32x4.add(i32x4.dot_i16x8_s(c, x2), i32x4.dot_i16x8_s(d, x3)),
  );
}

/** (a0+a2, b0+b2, a1+a3, b1+b3): half of hadd4i for two rows */
@inline function pairAdd(a: v128, b: v128): v128 {
  return i32x4.add(v128.shuffle<i32>(a, b, 0, 4, 1, 5), v128.shuffle<i32>(a, b, 2, 6, 3, 7));
}

/** (sums of rows 0..3) from pairAdd(rows 0, 1) and pairAdd(rows 2, 3): the rest of hadd4i */
@inline function pairsDone(r01: v128, r23: v128): v128 {
  return i32x4.add(v128.shuffle<i32>(r01, r23, 0, 1, 4, 5), v128.shuffle<i32>(r01, r23, 2, 3, 6, 7));
}

/**
 * Plain relaxed build: one activation row (Q8A, x+ and x- of block b at q8aParts + 64 b)
 * against the group at gp.
 * The unit's rows go two per iteration of an inner loop (literal load offsets from r): V8
 * schedules a block's loads first, and the eight weight vectors of a whole unit plus the
 * four activation vectors spill registers (~10-15% slower).
 */
@inline function rowQ8_0r(gp: usize, xr: usize, k: i32, nb: i32): v128 {
  const xpp = xr + q8aParts(<usize>k), xd = xr + 3 * <usize>k;
  // the f16 scale constants stay constants here (V8 rebuilds them for each unit): held in
  // registers like the other kernels' they crowd this loop's live vectors (in-process A/B:
  // 2-4 % slower)
  const ones = onesI16(nb);
  const fm = i32x4.splat(0x8fffffff), fb = f32x4.splat(reinterpret<f32>(0x77800000));
  let acc = f32x4.splat(0);
  let p = gp;
  for (let b = 0; b < nb; b++) {
    const pp = xpp + (<usize>b << 6);
    const p0 = v128.load(pp), p1 = v128.load(pp, 16), n0 = v128.load(pp, 32), n1 = v128.load(pp, 48);
    let r01 = i32x4.splat(0), r23 = r01;
    let r = p;
    for (let h = 0; h < 2; h++) {
      const v = pairAdd(dotQ8r(v128.load(r, 8), v128.load(r, 24), p0, p1, n0, n1, ones), dotQ8r(v128.load(r, 40), v128.load(r, 56), p0, p1, n0, n1, ones));
      r01 = r23; r23 = v; // after both iterations: rows 0,1 in r01, rows 2,3 in r23
      r += 64;
    }
    acc = fma(f32x4.convert_i32x4_s(pairsDone(r01, r23)), f32x4.mul(f16x4(p, fm, fb), f32x4.splat(load<f32>(xd + (<usize>b << 2)))), acc);
    p += 136;
  }
  return acc;
}

/**
 * Dot-add build: one activation row (Q8A: int8 quants at xr, sums s_x at 3k + k/8) against the
 * group at gp, whose levels are stored offset by 128 (common.ts dotU8): two dot-adds per row
 * and block on the int8 activations themselves. Each row's accumulator starts at -32 s_x in
 * each of its four lanes, so the row's sum (four lanes) has the offset's 128 s_x taken off.
 * Rows two per inner iteration, as in rowQ8_0r. (In-process A/B against the parts kernel:
 * 1.42x from L3, 1.13x from DRAM at one thread.)
 */
@inline function rowQ8_0u(gp: usize, xr: usize, k: i32, nb: i32): v128 {
  const xd = xr + 3 * <usize>k, xsum = xd + (<usize>nb << 2);
  const fm = f16Mask(nb), fb = f16Bias(nb);
  let acc = f32x4.splat(0);
  let p = gp;
  for (let b = 0; b < nb; b++) {
    const xp = xr + (<usize>b << 5);
    const x0 = v128.load(xp), x1 = v128.load(xp, 16);
    const off = i32x4.splat(load<i32>(xsum + (<usize>b << 2)) * -32);
    let r01 = off, r23 = off;
    let r = p;
    for (let h = 0; h < 2; h++) {
      const v = pairAdd(dotU8(v128.load(r, 8), v128.load(r, 24), x0, x1, off), dotU8(v128.load(r, 40), v128.load(r, 56), x0, x1, off));
      r01 = r23; r23 = v;
      r += 64;
    }
    acc = fma(f32x4.convert_i32x4_s(pairsDone(r01, r23)), f32x4.mul(f16x4(p, fm, fb), f32x4.splat(load<f32>(xd + (<usize>b << 2)))), acc);
    p += 136;
  }
  return acc;
}

/** one activation row against the group at gp in this build's relaxed decode kernel */
@inline function rowQ8_0(gp: usize, xr: usize, k: i32, nb: i32): v128 {
  return GEMMA_DOT_ADD ? rowQ8_0u(gp, xr, k, nb) : rowQ8_0r(gp, xr, k, nb);
}

/** SIMD128 build: one activation row (Q8A, int16 quants at xr + k) against the group at gp,
 *  weights sign-extended to int16 on the fly; rows two per inner iteration (see rowQ8_0r) */
@inline function rowQ8_0s(gp: usize, xr: usize, k: i32, nb: i32): v128 {
  const x16 = xr + <usize>k, xd = xr + 3 * <usize>k;
  const fm = f16Mask(nb), fb = f16Bias(nb);
  let acc = f32x4.splat(0);
  let p = gp;
  for (let b = 0; b < nb; b++) {
    const xp = x16 + (<usize>b << 6);
    const x0 = v128.load(xp), x1 = v128.load(xp, 16), x2 = v128.load(xp, 32), x3 = v128.load(xp, 48);
    let r01 = i32x4.splat(0), r23 = r01;
    let r = p;
    for (let h = 0; h < 2; h++) {
      const v = pairAdd(
        dotS32(v128.load_ext<i8>(r, 8), v128.load_ext<i8>(r, 16), v128.load_ext<i8>(r, 24), v128.load_ext<i8>(r, 32), x0, x1, x2, x3),
        dotS32(v128.load_ext<i8>(r, 40), v128.load_ext<i8>(r, 48), v128.load_ext<i8>(r, 56), v128.load_ext<i8>(r, 64), x0, x1, x2, x3));
      r01 = r23; r23 = v;
      r += 64;
    }
    acc = fma(f32x4.convert_i32x4_s(pairsDone(r01, r23)), f32x4.mul(f16x4(p, fm, fb), f32x4.splat(load<f32>(xd + (<usize>b << 2)))), acc);
    p += 136;
  }
  return acc;
}

/**
 * Widen the nb units of the group at gp into s for prefill, 272 bytes per unit (host:
 * jobs.ts Q8_0_WIDE_UNIT): 16 vectors, one per pair of columns (2jp, 2jp+1), holding the four
 * rows' two levels as int16 (r0 w[2jp], r0 w[2jp+1], r1 w[2jp], ..., r3 w[2jp+1]), then d x4
 * as f32. pmaddwd of pair vector jp with the activation pair (x[2jp], x[2jp+1]) broadcast to
 * all lanes gives the four rows' partial dots in the four lanes: no horizontal sums.
 */
@inline function widenQ8_0(gp: usize, nb: i32, s: usize): void {
  // constants, not f16Mask/f16Bias: V8 hoists those to mmQ8_0's entry, where they crowd the
  // decode loop's registers (in-process A/B: 1.5-2.5 % slower decode); widening runs once a tile
  const fm = i32x4.splat(0x8fffffff), fb = f32x4.splat(reinterpret<f32>(0x77800000));
  let p = gp, q = s;
  for (let b = 0; b < nb; b++) {
    for (let h = 0; h < 2; h++) {
      // 16-byte half h (columns 16h..16h+15) of the four rows
      const o = p + 8 + (<usize>h << 4);
      widenHalf(v128.load(o), v128.load(o, 32), v128.load(o, 64), v128.load(o, 96), q + (<usize>h << 7));
    }
    v128.store(q, f16x4(p, fm, fb), 256);
    p += 136;
    q += 272;
  }
}

/**
 * Store one half (16 columns) of a widened unit at d: a0..a3 are the four rows' signed
 * levels (int8) of those columns; 8 vectors of int16 column pairs (see widenQ8_0).
 */
@inline export function widenHalf(a0: v128, a1: v128, a2: v128, a3: v128, d: usize): void {
  // rows 0,1 (and 2,3) interleaved by column pairs: pairs 0..3, then 4..7
  const l01 = i8x16.shuffle(a0, a1, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const l23 = i8x16.shuffle(a2, a3, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const h01 = i8x16.shuffle(a0, a1, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  const h23 = i8x16.shuffle(a2, a3, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  // all four rows, two column pairs per vector
  const v0 = i8x16.shuffle(l01, l23, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const v1 = i8x16.shuffle(l01, l23, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  const v2 = i8x16.shuffle(h01, h23, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const v3 = i8x16.shuffle(h01, h23, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  v128.store(d, i16x8.extend_low_i8x16_s(v0));
  v128.store(d, i16x8.extend_high_i8x16_s(v0), 16);
  v128.store(d, i16x8.extend_low_i8x16_s(v1), 32);
  v128.store(d, i16x8.extend_high_i8x16_s(v1), 48);
  v128.store(d, i16x8.extend_low_i8x16_s(v2), 64);
  v128.store(d, i16x8.extend_high_i8x16_s(v2), 80);
  v128.store(d, i16x8.extend_low_i8x16_s(v3), 96);
  v128.store(d, i16x8.extend_high_i8x16_s(v3), 112);
}

/** bytes per block of a Q4_1 (SIMD128 build) or Q5_1 group widened for prefill: widenQ8_0's 272, then m x4
 *  as f32; its packed activation rows likewise hold d_x s_x x4 after d_x x4 (host: jobs.ts) */
const Q41_WIDE_UNIT: usize = 288;

/** one activation row (int16 quants at xr + k) against a group widened at s (the rows left
 *  over by rowsQ8_0w4); mins (Q4_1): the units' m_w x4 at 272, + m_w d_x s_x per block */
@inline function rowQ8_0w(s: usize, xr: usize, k: i32, nb: i32, mins: bool = false): v128 {
  const xd = xr + 3 * <usize>k, xso = xd + (<usize>nb << 2);
  const ustep: usize = mins ? Q41_WIDE_UNIT : 272;
  let x = xr + <usize>k;
  let acc = f32x4.splat(0);
  let q = s;
  for (let b = 0; b < nb; b++) {
    let a = i32x4.splat(0), c = a;
    const qe = q + 256;
    for (let qq = q; qq < qe; qq += 32) {
      a = i32x4.add(a, i32x4.dot_i16x8_s(v128.load(qq), v128.load32_splat(x)));
      c = i32x4.add(c, i32x4.dot_i16x8_s(v128.load(qq, 16), v128.load32_splat(x, 4)));
      x += 8;
    }
    const dx = load<f32>(xd + (<usize>b << 2));
    acc = fma(f32x4.convert_i32x4_s(i32x4.add(a, c)), f32x4.mul(v128.load(q, 256), f32x4.splat(dx)), acc);
    if (mins) acc = fma(v128.load(q, 272), f32x4.splat(dx * <f32>load<i32>(xso + (<usize>b << 2))), acc);
    q += ustep;
  }
  return acc;
}

/**
 * Pack activation rows t..t+3 (Q8A at xr, stride xs) for rowsQ8_0w4, 272 bytes per block: the
 * block's 16 int16 column pairs, each pair's four rows side by side ([pair 0: r0 r1 r2 r3]
 * [pair 1: ...], 256 bytes: a 4 x 4 transpose of i32 lanes per four pairs), then d_x of the four
 * rows (f32x4): every activation load of the kernel is at a constant offset from one pointer
 * (with four row pointers, V8 spent an address computation on each).
 */
@inline function packRowsQ8w(xr: usize, xs: usize, k: i32, nb: i32, dst: usize, mins: bool = false): void {
  const x16 = <usize>k, xdo = 3 * <usize>k, xso = xdo + (<usize>nb << 2);
  const x1 = xr + xs, x2 = x1 + xs, x3 = x2 + xs;
  let d = dst;
  for (let b = 0; b < nb; b++) {
    const o = x16 + (<usize>b << 6), o4 = xdo + (<usize>b << 2);
    for (let c: usize = 0; c < 64; c += 16) {
      transposeStore(v128.load(xr + o + c), v128.load(x1 + o + c), v128.load(x2 + o + c), v128.load(x3 + o + c), d + (c << 2));
    }
    const dx = vec4(load<f32>(xr + o4), load<f32>(x1 + o4), load<f32>(x2 + o4), load<f32>(x3 + o4));
    v128.store(d, dx, 256);
    if (mins) {
      // Q4_1: d_x s_x of the four rows (rounded in f32 as unitAcc does)
      const so = xso + (<usize>b << 2);
      const sx = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(load<i32>(xr + so)), 1, load<i32>(x1 + so)), 2, load<i32>(x2 + so)), 3, load<i32>(x3 + so));
      v128.store(d, f32x4.mul(dx, f32x4.convert_i32x4_s(sx)), 272);
      d += Q41_WIDE_UNIT;
    } else {
      d += 272;
    }
  }
}

/**
 * Four activation rows, packed by packRowsQ8w at x, against a group widened at s: each weight
 * vector serves the four rows; outputs to rows t..t+3
 */
@inline function rowsQ8_0w4(s: usize, x: usize, nb: i32, out: usize, t: i32, m: i32, g: i32, mins: bool = false): void {
  const ustep: usize = mins ? Q41_WIDE_UNIT : 272;
  let f0 = f32x4.splat(0), f1 = f0, f2 = f0, f3 = f0;
  let q = s, xp = x;
  for (let b = 0; b < nb; b++) {
    let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let j: usize = 0; j < 256; j += 32) {
      let wv = v128.load(q + j);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(wv, v128.load32_splat(xp + j)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(wv, v128.load32_splat(xp + j, 4)));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(wv, v128.load32_splat(xp + j, 8)));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(wv, v128.load32_splat(xp + j, 12)));
      wv = v128.load(q + j, 16);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(wv, v128.load32_splat(xp + j, 16)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(wv, v128.load32_splat(xp + j, 20)));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(wv, v128.load32_splat(xp + j, 24)));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(wv, v128.load32_splat(xp + j, 28)));
    }
    const dw = v128.load(q, 256);
    f0 = fma(f32x4.convert_i32x4_s(a0), f32x4.mul(dw, v128.load32_splat(xp, 256)), f0);
    f1 = fma(f32x4.convert_i32x4_s(a1), f32x4.mul(dw, v128.load32_splat(xp, 260)), f1);
    f2 = fma(f32x4.convert_i32x4_s(a2), f32x4.mul(dw, v128.load32_splat(xp, 264)), f2);
    f3 = fma(f32x4.convert_i32x4_s(a3), f32x4.mul(dw, v128.load32_splat(xp, 268)), f3);
    if (mins) {
      // Q4_1: + m_w d_x s_x
      const mw = v128.load(q, 272);
      f0 = fma(mw, v128.load32_splat(xp, 272), f0);
      f1 = fma(mw, v128.load32_splat(xp, 276), f1);
      f2 = fma(mw, v128.load32_splat(xp, 280), f2);
      f3 = fma(mw, v128.load32_splat(xp, 284), f3);
    }
    q += ustep;
    xp += ustep;
  }
  storeRows4(out, t, m, g, f0, f1, f2, f3);
}

/**
 * Dot-add build (GEMMA_DOT_ADD), Q8_0 prefill: the group's levels (stored + 128, u8)
 * transposed once per token tile into 4 x 4 tiles (vector c = columns 4c..4c+3 of rows 0..3;
 * 128 bytes per block, then d x4 as f32: Q8_0_TILE_BYTES), the unsigned operand of relaxed
 * dot-add (common.ts dotU8); the activations' int8 quants are the signed one, so every lane
 * sums four exact products in i32.
 */
/** bytes per block of a tileQ8_0 tile: the 4 x 32 levels, then the four rows' d as f32 */
const Q8_0_TILE_BYTES: usize = 144;

@inline function tileQ8_0(gp: usize, nb: i32, s: usize): void {
  const fm = f16Mask(nb), fb = f16Bias(nb);
  let p = gp, q = s;
  for (let b = 0; b < nb; b++) {
    transposeStore(v128.load(p, 8), v128.load(p, 40), v128.load(p, 72), v128.load(p, 104), q);
    transposeStore(v128.load(p, 24), v128.load(p, 56), v128.load(p, 88), v128.load(p, 120), q + 64);
    v128.store(q, f16x4(p, fm, fb), 128);
    p += 136;
    q += Q8_0_TILE_BYTES;
  }
}

/** bytes per block of four activation rows packed by packRowsQ8d */
const Q8D_ROWS4: i32 = 160;

/**
 * Pack activation rows t..t+3 (Q8A at xr, stride xs) for rowsQ8_0d4, Q8D_ROWS4 bytes per
 * block: the four rows' int8 quants as eight column quads ([quad 0: r0 r1 r2 r3] ..., 128
 * bytes), then d_x of the four rows (f32x4), then 128 s_x of the four rows (i32x4: what the
 * weights' level offset adds to the dots; the same places as packRows4's d_x and o s_x).
 */
@inline function packRowsQ8d(xr: usize, xs: usize, k: i32, nb: i32, dst: usize): void {
  const xdo = 3 * <usize>k, xso = xdo + (<usize>nb << 2);
  const x1 = xr + xs, x2 = x1 + xs, x3 = x2 + xs;
  let d = dst;
  for (let b = 0; b < nb; b++) {
    const o = <usize>b << 5, o4 = <usize>b << 2;
    transposeStore(v128.load(xr + o), v128.load(x1 + o), v128.load(x2 + o), v128.load(x3 + o), d);
    transposeStore(v128.load(xr + o, 16), v128.load(x1 + o, 16), v128.load(x2 + o, 16), v128.load(x3 + o, 16), d + 64);
    v128.store(d, vec4(load<f32>(xr + xdo + o4), load<f32>(x1 + xdo + o4), load<f32>(x2 + xdo + o4), load<f32>(x3 + xdo + o4)), 128);
    const s = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(load<i32>(xr + xso + o4)), 1, load<i32>(x1 + xso + o4)), 2, load<i32>(x2 + xso + o4)), 3, load<i32>(x3 + xso + o4));
    v128.store(d, i32x4.shl(s, 7), 144);
    d += Q8D_ROWS4;
  }
}

/** four activation rows packed by packRowsQ8d at x against the group tiled at s (tileQ8_0) */
@inline function rowsQ8_0d4(s: usize, x: usize, nb: i32, out: usize, t: i32, m: i32, g: i32): void {
  if (!GEMMA_DOT_ADD) return; // only called in the dot-add build
  let f0 = f32x4.splat(0), f1 = f0, f2 = f0, f3 = f0;
  let u = s, xp = x;
  for (let b = 0; b < nb; b++) {
    let p0 = i32x4.splat(0), p1 = p0, p2 = p0, p3 = p0;
    for (let c: usize = 0; c < 8; c++) {
      const wv = v128.load(u + (c << 4));
      const xo = xp + (c << 4);
      p0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xo), wv, p0);
      p1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xo, 4), wv, p1);
      p2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xo, 8), wv, p2);
      p3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xo, 12), wv, p3);
    }
    p0 = i32x4.sub(p0, v128.load32_splat(xp, 144)); p1 = i32x4.sub(p1, v128.load32_splat(xp, 148));
    p2 = i32x4.sub(p2, v128.load32_splat(xp, 152)); p3 = i32x4.sub(p3, v128.load32_splat(xp, 156));
    const dw = v128.load(u, 128);
    f0 = fma(f32x4.convert_i32x4_s(p0), f32x4.mul(dw, v128.load32_splat(xp, 128)), f0);
    f1 = fma(f32x4.convert_i32x4_s(p1), f32x4.mul(dw, v128.load32_splat(xp, 132)), f1);
    f2 = fma(f32x4.convert_i32x4_s(p2), f32x4.mul(dw, v128.load32_splat(xp, 136)), f2);
    f3 = fma(f32x4.convert_i32x4_s(p3), f32x4.mul(dw, v128.load32_splat(xp, 140)), f3);
    u += Q8_0_TILE_BYTES;
    xp += Q8D_ROWS4;
  }
  storeRows4(out, t, m, g, f0, f1, f2, f3);
}

/**
 * Q8_0: signed 8-bit levels (stored + 128 in the dot-add build: repack.ts offsetQ8_0).
 * - One activation row (decode): dot-add build, dot-adds of the u8 levels with the int8
 *   activations (rowQ8_0u); plain relaxed build, pmaddubsw against the activations' positive
 *   and negative parts (common.ts dotQ8r); SIMD128 build, weights sign-extended to int16 and
 *   multiplied with pmaddwd. Each weight is used once: the fewest operations per weight win.
 * - Several rows (prefill, scratch != 0): each group of four weight rows is widened once per
 *   tile into the thread's scratch (k/32 * 272 bytes, L1/L2) as column-pair vectors
 *   (widenQ8_0), then activation rows four at a time run pmaddwd against broadcast
 *   activation pairs: the four rows' sums build up in the four lanes (no horizontal sums),
 *   and each loaded weight vector serves four activation rows. The dot-add build tiles the
 *   group's u8 levels instead (tileQ8_0) and runs relaxed dot-adds against the activations'
 *   packed int8 quants (packRowsQ8d, rowsQ8_0d4): 16 products per instruction where pmaddwd
 *   gives 8 (and a separate add).
 */
export function mmQ8_0(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void {
  const nb = k >> 5;
  const gs = <usize>nb * 136;
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by;
  // the widened path reads only the int16 quants and scales of a row (2k + k/8 bytes)
  const wide = T >= 2 && scratch != 0;
  const tt = wide ? tokenTile(2 * k + (k >> 3)) : tokenTile(xs);
  // wide: the tile's activation rows packed four at a time after the widened group (packRowsQ8w),
  // in the dot-add build after two groups' tiles (tileQ8_0, for rowsTiles4x2; packRowsQ8d)
  const pk = scratch + <usize>nb * (GEMMA_DOT_ADD ? 2 * Q8_0_TILE_BYTES : 272), pstep = <usize>nb * <usize>(GEMMA_DOT_ADD ? Q8D_ROWS4 : 272);
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    if (wide) {
      for (let t = t0; t + 4 <= t1; t += 4) {
        if (GEMMA_DOT_ADD) packRowsQ8d(xq + <usize>t * <usize>xs, <usize>xs, k, nb, pk + <usize>((t - t0) >> 2) * pstep);
        else packRowsQ8w(xq + <usize>t * <usize>xs, <usize>xs, k, nb, pk + <usize>((t - t0) >> 2) * pstep);
      }
    }
    for (let g = g0; g < g1; g++) {
      const gp = groupPtr(w, g, gs);
      if (GEMMA_DOT_ADD && wide && t1 - t0 >= 4 && g + 1 < g1) {
        // two groups at once (rowsTiles4x2); leftover rows through the decode kernel
        const gq = groupPtr(w, g + 1, gs), s2 = scratch + <usize>nb * Q8_0_TILE_BYTES;
        tileQ8_0(gp, nb, scratch);
        tileQ8_0(gq, nb, s2);
        let t = t0;
        for (; t + 4 <= t1; t += 4) rowsTiles4x2(Q8_0_TILES, scratch, s2, Q8_0_TILE_BYTES, 0, 0, 0, pk + <usize>((t - t0) >> 2) * pstep, nb, i32x4.splat(0), i32x4.splat(0), i32x4.splat(0), out, t, m, g); // (no f16 scales: in the tiles)
        for (; t < t1; t++) {
          storeRows(out, t, m, g, rowQ8_0u(gp, xq + <usize>t * <usize>xs, k, nb));
          storeRows(out, t, m, g + 1, rowQ8_0u(gq, xq + <usize>t * <usize>xs, k, nb));
        }
        g++;
      } else if (GEMMA_DOT_ADD && wide && t1 - t0 >= 2) {
        tileQ8_0(gp, nb, scratch);
        let t = t0;
        for (; t + 4 <= t1; t += 4) rowsQ8_0d4(scratch, pk + <usize>((t - t0) >> 2) * pstep, nb, out, t, m, g);
        // leftover rows: the decode kernel on the group's units (the same sums and rounding)
        for (; t < t1; t++) storeRows(out, t, m, g, rowQ8_0u(gp, xq + <usize>t * <usize>xs, k, nb));
      } else if (wide && t1 - t0 >= 2) {
        widenQ8_0(gp, nb, scratch);
        let t = t0;
        for (; t + 4 <= t1; t += 4) rowsQ8_0w4(scratch, pk + <usize>((t - t0) >> 2) * pstep, nb, out, t, m, g);
        for (; t < t1; t++) storeRows(out, t, m, g, rowQ8_0w(scratch, xq + <usize>t * <usize>xs, k, nb));
      } else if (ASC_FEATURE_RELAXED_SIMD) {
        for (let t = t0; t < t1; t++) storeRows(out, t, m, g, rowQ8_0(gp, xq + <usize>t * <usize>xs, k, nb));
      } else {
        for (let t = t0; t < t1; t++) storeRows(out, t, m, g, rowQ8_0s(gp, xq + <usize>t * <usize>xs, k, nb));
      }
    }
  }
}

/**
 * 0x10 in each byte lane of row i's elements 0..15 (hi = false) or 16..31 whose fifth bit is
 * set: qv holds the unit's qh bytes, bit-sliced at upload (repack.ts sliceQh: byte j, bit
 * 2i + h = row i's fifth bit of element j + 16 h), so one shift and one and move that bit to
 * bit 4 (where each row's u32 took V8 a splat, a byte shuffle with a rebuilt mask and a
 * compare: 1.5x the Q5_0 decode speed). m10 = byteMask(.., 0x10).
 */
@inline function qhBits(qv: v128, i: usize, hi: bool, m10: v128): v128 {
  if (i == 0) return hi ? moveBits(qv, 1, 4, m10) : moveBits(qv, 0, 4, m10);
  if (i == 1) return hi ? moveBits(qv, 3, 4, m10) : moveBits(qv, 2, 4, m10);
  if (i == 2) return hi ? moveBits(qv, 5, 4, m10) : moveBits(qv, 4, 4, m10);
  return hi ? moveBits(qv, 7, 4, m10) : moveBits(qv, 6, 4, m10);
}

/** the unsigned levels of elements 0..15 (hi = false) or 16..31 of row i of a unit; qv: the
 *  unit's four qh words (formats with a fifth bit); lo = byteMask(.., 0x0f), m10 = byteMask(.., 0x10) */
@inline function levels(fmt: i32, p: usize, qs: usize, qv: v128, i: usize, hi: bool, lo: v128, m10: v128): v128 {
  const w = v128.load(p + qs + (i << 4));
  let v = hi ? hiNibbles(w, lo) : v128.and(w, lo);
  if (fmt >= 2) v = v128.or(v, qhBits(qv, i, hi, m10));
  return v;
}

/** the four rows' integer dots with one activation block, minus the level offset */
@inline function unitDots(fmt: i32, p: usize, qs: usize, qh: usize, x8: usize, x16: usize, sx: i32, ones: v128, lo: v128, m10: v128): v128 {
  const qv = fmt >= 2 ? v128.load(p + qh) : ones; // the four rows' qh words
  if (GEMMA_DOT_ADD) {
    // dot-add build: the activation block loaded once for the four rows, and the level offset
    // as the starting value of each lane (a row's sum adds four lanes: -o s_x in all)
    const x0 = v128.load(x8), x1 = v128.load(x8, 16);
    const init = i32x4.splat(fmt == 0 ? -(sx << 1) : fmt == 2 ? -(sx << 2) : 0);
    return hadd4i(
      dotU8(levels(fmt, p, qs, qv, 0, false, lo, m10), levels(fmt, p, qs, qv, 0, true, lo, m10), x0, x1, init),
      dotU8(levels(fmt, p, qs, qv, 1, false, lo, m10), levels(fmt, p, qs, qv, 1, true, lo, m10), x0, x1, init),
      dotU8(levels(fmt, p, qs, qv, 2, false, lo, m10), levels(fmt, p, qs, qv, 2, true, lo, m10), x0, x1, init),
      dotU8(levels(fmt, p, qs, qv, 3, false, lo, m10), levels(fmt, p, qs, qv, 3, true, lo, m10), x0, x1, init));
  }
  let s = hadd4i(
    dotU32(levels(fmt, p, qs, qv, 0, false, lo, m10), levels(fmt, p, qs, qv, 0, true, lo, m10), x8, x16, ones),
    dotU32(levels(fmt, p, qs, qv, 1, false, lo, m10), levels(fmt, p, qs, qv, 1, true, lo, m10), x8, x16, ones),
    dotU32(levels(fmt, p, qs, qv, 2, false, lo, m10), levels(fmt, p, qs, qv, 2, true, lo, m10), x8, x16, ones),
    dotU32(levels(fmt, p, qs, qv, 3, false, lo, m10), levels(fmt, p, qs, qv, 3, true, lo, m10), x8, x16, ones));
  if (fmt == 0) s = i32x4.sub(s, i32x4.splat(sx << 3));
  if (fmt == 2) s = i32x4.sub(s, i32x4.splat(sx << 4));
  return s;
}

/** y += d_w d_x s  (+ m_w d_x s_x for the formats with a min) */
@inline function unitAcc(fmt: i32, p: usize, acc: v128, s: v128, dx: f32, sx: i32, fm: v128, fb: v128): v128 {
  acc = fma(f32x4.convert_i32x4_s(s), f32x4.mul(f16x4(p, fm, fb), f32x4.splat(dx)), acc);
  if (fmt == 1 || fmt == 3) acc = fma(f16x4(p + 8, fm, fb), f32x4.splat(dx * <f32>sx), acc);
  return acc;
}

/**
 * Prefill of Q4_0 / Q4_1 / Q5_0 (fmt 0..2; SIMD128 build) and Q5_1 (fmt 3; every build): a group
 * widened into the units of widenQ8_0, its levels as int16 column pairs, then d x4 (Q4_1 and
 * Q5_1: then m x4, Q41_WIDE_UNIT per unit): Q4_0 and Q5_0 as signed levels (level - 8, level -
 * 16), Q4_1 and Q5_1 as their levels 0..15 / 0..31. The activation rows then run the Q8_0
 * prefill kernels (rowsQ8_0w4, rowQ8_0w; with the min term for Q4_1 and Q5_1). The integer sums are those of unitDots exactly (sum (q - 8) x = sum q x -
 * 8 s_x), so results do not change; 16 pmaddwd per 4 rows x 32 columns x activation row where
 * the unit path took 16 widenings and 16 pmaddwd per activation row and weight row.
 */
@inline function widenQ45(fmt: i32, gp: usize, nb: i32, s: usize, unit: usize, qs: usize, qh: usize): void {
  const off = byteMask(nb, fmt == 0 ? 8 : fmt == 2 ? 16 : 0), lo = byteMask(nb, 0x0f), m10 = byteMask(nb, 0x10);
  const fm = f16Mask(nb), fb = f16Bias(nb);
  const mins = fmt == 1 || fmt == 3;
  const ustep: usize = mins ? Q41_WIDE_UNIT : 272;
  let p = gp, q = s;
  for (let b = 0; b < nb; b++) {
    const qv = fmt >= 2 ? v128.load(p + qh) : lo; // Q5_0, Q5_1: the four rows' qh words
    for (let h = 0; h < 2; h++) {
      const hi = h == 1;
      let a0 = levels(fmt, p, qs, qv, 0, hi, lo, m10), a1 = levels(fmt, p, qs, qv, 1, hi, lo, m10);
      let a2 = levels(fmt, p, qs, qv, 2, hi, lo, m10), a3 = levels(fmt, p, qs, qv, 3, hi, lo, m10);
      if (!mins) { a0 = i8x16.sub(a0, off); a1 = i8x16.sub(a1, off); a2 = i8x16.sub(a2, off); a3 = i8x16.sub(a3, off); }
      widenHalf(a0, a1, a2, a3, q + (<usize>h << 7));
    }
    v128.store(q, f16x4(p, fm, fb), 256);
    if (mins) v128.store(q, f16x4(p + 8, fm, fb), 272);
    p += unit;
    q += ustep;
  }
}

/**
 * Relaxed build, prefill of Q4_0 / Q4_1 / Q5_0: the levels (0..15, or 0..31 with Q5_0's fifth
 * bits; the i7 operand of relaxed_dot) of a group's four rows are unpacked once per token tile
 * into scratch, 128 bytes per unit: vector j (j = 0..7) holds columns 4j..4j+3 of row 0, then of
 * rows 1, 2, 3. Against four int8 activations broadcast to every lane, relaxed_dot gives each
 * row's two pair sums in that row's two i16 lanes, and a pmaddwd turns a block's sums into the
 * four rows' block dots in the four lanes (tileDots): 9 multiply instructions per 4 rows x 32
 * columns x activation row (10 for Q5_0), where the int16 widened path (rowsQ8_0w4) needs 16.
 */
@inline function widenNibbles(fmt: i32, gp: usize, nb: i32, s: usize, unit: usize, qs: usize, qh: usize): void {
  const lo = byteMask(nb, 0x0f), m10 = byteMask(nb, 0x10);
  let p = gp, q = s;
  for (let b = 0; b < nb; b++) {
    const w0 = v128.load(p + qs), w1 = v128.load(p + qs, 16), w2 = v128.load(p + qs, 32), w3 = v128.load(p + qs, 48);
    const qv = fmt == 2 ? v128.load(p + qh) : lo; // Q5_0: the four rows' fifth bits (bit-sliced)
    // columns 0..15 (low nibbles), then 16..31 (high nibbles): a 4 x 4 transpose of i32 lanes
    for (let h = 0; h < 2; h++) {
      let a0 = h == 0 ? v128.and(w0, lo) : hiNibbles(w0, lo), a1 = h == 0 ? v128.and(w1, lo) : hiNibbles(w1, lo);
      let a2 = h == 0 ? v128.and(w2, lo) : hiNibbles(w2, lo), a3 = h == 0 ? v128.and(w3, lo) : hiNibbles(w3, lo);
      if (fmt == 2) {
        const hi = h == 1;
        a0 = v128.or(a0, qhBits(qv, 0, hi, m10)); a1 = v128.or(a1, qhBits(qv, 1, hi, m10));
        a2 = v128.or(a2, qhBits(qv, 2, hi, m10)); a3 = v128.or(a3, qhBits(qv, 3, hi, m10));
      }
      const t01l = v128.shuffle<i32>(a0, a1, 0, 4, 1, 5), t01h = v128.shuffle<i32>(a0, a1, 2, 6, 3, 7);
      const t23l = v128.shuffle<i32>(a2, a3, 0, 4, 1, 5), t23h = v128.shuffle<i32>(a2, a3, 2, 6, 3, 7);
      const d = q + (<usize>h << 6);
      v128.store(d, v128.shuffle<i32>(t01l, t23l, 0, 1, 4, 5));
      v128.store(d, v128.shuffle<i32>(t01l, t23l, 2, 3, 6, 7), 16);
      v128.store(d, v128.shuffle<i32>(t01h, t23h, 0, 1, 4, 5), 32);
      v128.store(d, v128.shuffle<i32>(t01h, t23h, 2, 3, 6, 7), 48);
    }
    p += unit;
    q += 128;
  }
}

/**
 * One 32-column block of an unpacked four-row tile (u: eight vectors, each columns 4j..4j+3 of
 * rows 0..3 as levels < 128, the i7 operand) against 32 int8 activations at x8 broadcast four at
 * a time: relaxed_dot gives each row's pair sums in that row's two int16 lanes, and one pmaddwd
 * by m (ones, or the rows' scales as int16 pairs) widens them to the four rows' i32 dots in the
 * four lanes. Levels <= 15 (Q4_0, Q4_1, Q4_K): all eight products of a lane add up in int16
 * (8 * 2 * 15 * 127 = 30480); levels <= 31 (split: Q5_0, Q5_K) overflow that, so two sums of
 * four (4 * 2 * 31 * 127 = 31496) are widened separately. Shared by matmul-q's nibble prefill
 * and matmul-k's Q4_K/Q5_K prefill.
 */
@inline export function tileDots(split: bool, x8: usize, u: usize, m: v128): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return m; // never called in the SIMD128 build
  let a = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x8), v128.load(u));
  a = i16x8.add(a, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x8, 4), v128.load(u, 16)));
  a = i16x8.add(a, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x8, 8), v128.load(u, 32)));
  a = i16x8.add(a, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x8, 12), v128.load(u, 48)));
  let b = split ? i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x8, 16), v128.load(u, 64)) : i16x8.add(a, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x8, 16), v128.load(u, 64)));
  b = i16x8.add(b, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x8, 20), v128.load(u, 80)));
  b = i16x8.add(b, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x8, 24), v128.load(u, 96)));
  b = i16x8.add(b, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x8, 28), v128.load(u, 112)));
  return split ? i32x4.add(i32x4.dot_i16x8_s(a, m), i32x4.dot_i16x8_s(b, m)) : i32x4.dot_i16x8_s(b, m);
}

/** activation row t (Q8A at xr) against the unpacked group at s; scales from the units at gp */
@inline function rowNibbles(fmt: i32, s: usize, gp: usize, unit: usize, xr: usize, k: i32, nb: i32, ones: v128): v128 {
  const xdo = 3 * <usize>k, xso = xdo + (<usize>nb << 2);
  const fm = f16Mask(nb), fb = f16Bias(nb);
  let acc = f32x4.splat(0);
  let p = gp, u = s;
  for (let b = 0; b < nb; b++) {
    const o4 = <usize>b << 2;
    const sx = load<i32>(xr + xso + o4);
    let d = tileDots(fmt == 2, xr + (<usize>b << 5), u, ones);
    if (fmt == 0) d = i32x4.sub(d, i32x4.splat(sx << 3));
    if (fmt == 2) d = i32x4.sub(d, i32x4.splat(sx << 4));
    acc = unitAcc(fmt, p, acc, d, load<f32>(xr + xdo + o4), sx, fm, fb);
    p += unit;
    u += 128;
  }
  return acc;
}

/**
 * Pack activation rows t..t+3 (Q8A at xr, stride xs) for rowsNibbles4p, 160 bytes per block:
 * the block's 32 int8 quants as eight column quads, each quad's four rows side by side
 * ([q0: r0 r1 r2 r3][q1: ...], 128 bytes: a 4 x 4 transpose of i32 lanes per 16 columns), then
 * d_x of the four rows (f32x4), then their quant sums (i32x4; times 8 for Q4_0, the level
 * offset's correction): every activation load of the kernel is then at a constant offset from
 * one pointer, and the epilogue's per-row values are plain loads.
 */
@inline function packRows4(fmt: i32, xr: usize, xs: usize, k: i32, nb: i32, dst: usize): void {
  const xdo = 3 * <usize>k, xso = xdo + (<usize>nb << 2);
  const x1 = xr + xs, x2 = x1 + xs, x3 = x2 + xs;
  let d = dst;
  for (let b = 0; b < nb; b++) {
    const o = <usize>b << 5, o4 = <usize>b << 2;
    transposeStore(v128.load(xr + o), v128.load(x1 + o), v128.load(x2 + o), v128.load(x3 + o), d);
    transposeStore(v128.load(xr + o, 16), v128.load(x1 + o, 16), v128.load(x2 + o, 16), v128.load(x3 + o, 16), d + 64);
    v128.store(d, vec4(load<f32>(xr + xdo + o4), load<f32>(x1 + xdo + o4), load<f32>(x2 + xdo + o4), load<f32>(x3 + xdo + o4)), 128);
    let sv = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(load<i32>(xr + xso + o4)), 1, load<i32>(x1 + xso + o4)), 2, load<i32>(x2 + xso + o4)), 3, load<i32>(x3 + xso + o4));
    if (fmt == 0) sv = i32x4.shl(sv, 3);
    if (fmt == 2) sv = i32x4.shl(sv, 4);
    v128.store(d, sv, 144);
    d += 160;
  }
}

/** four packed activation rows (packRows4 at pk) against the unpacked group at s; outputs to rows t..t+3 */
@inline function rowsNibbles4p(fmt: i32, s: usize, gp: usize, unit: usize, pk: usize, nb: i32, ones: v128, fm: v128, fb: v128, out: usize, t: i32, m: i32, g: i32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return; // never called in the SIMD128 build
  let f0 = f32x4.splat(0), f1 = f0, f2 = f0, f3 = f0;
  let p = gp, u = s, x = pk;
  for (let b = 0; b < nb; b++) {
    let d0 = i32x4.splat(0), d1 = d0, d2 = d0, d3 = d0;
    if (GEMMA_DOT_ADD) {
      // dot-add build: the products add up in i32 directly (no int16 stage, no widening, and
      // Q5_0 needs no split)
      for (let j: usize = 0; j < 128; j += 32) {
        let wv = v128.load(u + j);
        d0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + j), wv, d0);
        d1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + j, 4), wv, d1);
        d2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + j, 8), wv, d2);
        d3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + j, 12), wv, d3);
        wv = v128.load(u + j, 16);
        d0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + j, 16), wv, d0);
        d1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + j, 20), wv, d1);
        d2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + j, 24), wv, d2);
        d3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + j, 28), wv, d3);
      }
    } else {
      let a0 = i16x8.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let e0 = a0, e1 = a0, e2 = a0, e3 = a0; // Q5_0: the first half's widened sums
      for (let j: usize = 0; j < 128; j += 32) {
        if (fmt == 2 && j == 64) {
          // Q5_0 levels (<= 31): widen after four products per lane (int16 holds four, not eight)
          e0 = i32x4.dot_i16x8_s(a0, ones); e1 = i32x4.dot_i16x8_s(a1, ones); e2 = i32x4.dot_i16x8_s(a2, ones); e3 = i32x4.dot_i16x8_s(a3, ones);
          a0 = i16x8.splat(0); a1 = a0; a2 = a0; a3 = a0;
        }
        let wv = v128.load(u + j);
        a0 = i16x8.add(a0, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + j), wv));
        a1 = i16x8.add(a1, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + j, 4), wv));
        a2 = i16x8.add(a2, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + j, 8), wv));
        a3 = i16x8.add(a3, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + j, 12), wv));
        wv = v128.load(u + j, 16);
        a0 = i16x8.add(a0, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + j, 16), wv));
        a1 = i16x8.add(a1, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + j, 20), wv));
        a2 = i16x8.add(a2, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + j, 24), wv));
        a3 = i16x8.add(a3, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + j, 28), wv));
      }
      d0 = i32x4.dot_i16x8_s(a0, ones); d1 = i32x4.dot_i16x8_s(a1, ones); d2 = i32x4.dot_i16x8_s(a2, ones); d3 = i32x4.dot_i16x8_s(a3, ones);
      if (fmt == 2) { d0 = i32x4.add(d0, e0); d1 = i32x4.add(d1, e1); d2 = i32x4.add(d2, e2); d3 = i32x4.add(d3, e3); }
    }
    if (fmt == 0 || fmt == 2) { // minus the level offset (8 or 16) times the quant sums, pre-multiplied by packRows4
      d0 = i32x4.sub(d0, v128.load32_splat(x, 144)); d1 = i32x4.sub(d1, v128.load32_splat(x, 148));
      d2 = i32x4.sub(d2, v128.load32_splat(x, 152)); d3 = i32x4.sub(d3, v128.load32_splat(x, 156));
    }
    const dw = f16x4(p, fm, fb);
    f0 = fma(f32x4.convert_i32x4_s(d0), f32x4.mul(dw, v128.load32_splat(x, 128)), f0);
    f1 = fma(f32x4.convert_i32x4_s(d1), f32x4.mul(dw, v128.load32_splat(x, 132)), f1);
    f2 = fma(f32x4.convert_i32x4_s(d2), f32x4.mul(dw, v128.load32_splat(x, 136)), f2);
    f3 = fma(f32x4.convert_i32x4_s(d3), f32x4.mul(dw, v128.load32_splat(x, 140)), f3);
    if (fmt == 1) {
      // + m_w d_x s_x (d_x s_x rounded in f32 as unitAcc does)
      const mw = f16x4(p + 8, fm, fb);
      const dxs = f32x4.mul(v128.load(x, 128), f32x4.convert_i32x4_s(v128.load(x, 144)));
      f0 = fma(mw, f32x4.splat(f32x4.extract_lane(dxs, 0)), f0);
      f1 = fma(mw, f32x4.splat(f32x4.extract_lane(dxs, 1)), f1);
      f2 = fma(mw, f32x4.splat(f32x4.extract_lane(dxs, 2)), f2);
      f3 = fma(mw, f32x4.splat(f32x4.extract_lane(dxs, 3)), f3);
    }
    p += unit;
    u += 128;
    x += 160;
  }
  storeRows4(out, t, m, g, f0, f1, f2, f3);
}

/** rowsTiles4x2's fmt for Q8_0 (tileQ8_0 tiles, packRowsQ8d rows; 0..2 are mmQ45's formats) */
const Q8_0_TILES: i32 = 4;

/**
 * Prefill: four packed activation rows at pk against two groups' tiles of unsigned levels, g at
 * s and g + 1 at s2 (ts bytes per block): each activation splat feeds both groups' dot products
 * (0.75 loads per dot-add, where one group takes 1.25; in-process A/B 1.10-1.25x). Q4_0 / Q4_1 /
 * Q5_0 (fmt 0..2): widenNibbles tiles (ts = 128), packRows4 rows, scales from the groups' units
 * at gp and gq (unit bytes each); Q8_0 (Q8_0_TILES): tileQ8_0 tiles with their scales
 * (ts = Q8_0_TILE_BYTES), packRowsQ8d rows. The dot-add build runs every format; the plain
 * relaxed build Q4_0 and Q4_1 (int16 pair sums; Q5_0's would need a split). Outputs to rows
 * t..t+3 of groups g and g + 1: the same sums and rounding as rowsNibbles4p / rowsQ8_0d4 on
 * each group.
 */
@inline function rowsTiles4x2(fmt: i32, s: usize, s2: usize, ts: usize, gp: usize, gq: usize, unit: usize, pk: usize, nb: i32, ones: v128, fm: v128, fb: v128, out: usize, t: i32, m: i32, g: i32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return; // never called in the SIMD128 build (and Q5_0, Q8_0 tiles only in the dot-add one)
  let f0 = f32x4.splat(0), f1 = f0, f2 = f0, f3 = f0, h0 = f0, h1 = f0, h2 = f0, h3 = f0;
  let p = gp, p2 = gq, u = s, u2 = s2, x = pk;
  for (let b = 0; b < nb; b++) {
    let d0 = i32x4.splat(0), d1 = d0, d2 = d0, d3 = d0, e0 = d0, e1 = d0, e2 = d0, e3 = d0;
    if (GEMMA_DOT_ADD) {
      for (let j: usize = 0; j < 128; j += 16) {
        const wa = v128.load(u + j), wb = v128.load(u2 + j);
        let xv = v128.load32_splat(x + j);
        d0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(xv, wa, d0); e0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(xv, wb, e0);
        xv = v128.load32_splat(x + j, 4);
        d1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(xv, wa, d1); e1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(xv, wb, e1);
        xv = v128.load32_splat(x + j, 8);
        d2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(xv, wa, d2); e2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(xv, wb, e2);
        xv = v128.load32_splat(x + j, 12);
        d3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(xv, wa, d3); e3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(xv, wb, e3);
      }
    } else {
      // plain relaxed build, levels <= 15 (Q4_0, Q4_1): int16 pair sums (8 * 2 * 15 * 127 fit,
      // as in rowsNibbles4p), widened once per block
      let a0 = i16x8.splat(0), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
      for (let j: usize = 0; j < 128; j += 16) {
        const wa = v128.load(u + j), wb = v128.load(u2 + j);
        let xv = v128.load32_splat(x + j);
        a0 = i16x8.add(a0, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wa)); c0 = i16x8.add(c0, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wb));
        xv = v128.load32_splat(x + j, 4);
        a1 = i16x8.add(a1, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wa)); c1 = i16x8.add(c1, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wb));
        xv = v128.load32_splat(x + j, 8);
        a2 = i16x8.add(a2, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wa)); c2 = i16x8.add(c2, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wb));
        xv = v128.load32_splat(x + j, 12);
        a3 = i16x8.add(a3, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wa)); c3 = i16x8.add(c3, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wb));
      }
      d0 = i32x4.dot_i16x8_s(a0, ones); d1 = i32x4.dot_i16x8_s(a1, ones); d2 = i32x4.dot_i16x8_s(a2, ones); d3 = i32x4.dot_i16x8_s(a3, ones);
      e0 = i32x4.dot_i16x8_s(c0, ones); e1 = i32x4.dot_i16x8_s(c1, ones); e2 = i32x4.dot_i16x8_s(c2, ones); e3 = i32x4.dot_i16x8_s(c3, ones);
    }
    if (fmt != 1) { // minus the level offset (8, 16 or 128) times the quant sums, pre-multiplied by the packing
      let o = v128.load32_splat(x, 144); d0 = i32x4.sub(d0, o); e0 = i32x4.sub(e0, o);
      o = v128.load32_splat(x, 148); d1 = i32x4.sub(d1, o); e1 = i32x4.sub(e1, o);
      o = v128.load32_splat(x, 152); d2 = i32x4.sub(d2, o); e2 = i32x4.sub(e2, o);
      o = v128.load32_splat(x, 156); d3 = i32x4.sub(d3, o); e3 = i32x4.sub(e3, o);
    }
    const da = fmt == Q8_0_TILES ? v128.load(u, 128) : f16x4(p, fm, fb), db = fmt == Q8_0_TILES ? v128.load(u2, 128) : f16x4(p2, fm, fb);
    let dx = v128.load32_splat(x, 128);
    f0 = fma(f32x4.convert_i32x4_s(d0), f32x4.mul(da, dx), f0); h0 = fma(f32x4.convert_i32x4_s(e0), f32x4.mul(db, dx), h0);
    dx = v128.load32_splat(x, 132);
    f1 = fma(f32x4.convert_i32x4_s(d1), f32x4.mul(da, dx), f1); h1 = fma(f32x4.convert_i32x4_s(e1), f32x4.mul(db, dx), h1);
    dx = v128.load32_splat(x, 136);
    f2 = fma(f32x4.convert_i32x4_s(d2), f32x4.mul(da, dx), f2); h2 = fma(f32x4.convert_i32x4_s(e2), f32x4.mul(db, dx), h2);
    dx = v128.load32_splat(x, 140);
    f3 = fma(f32x4.convert_i32x4_s(d3), f32x4.mul(da, dx), f3); h3 = fma(f32x4.convert_i32x4_s(e3), f32x4.mul(db, dx), h3);
    if (fmt == 1) {
      // + m_w d_x s_x (d_x s_x rounded in f32 as unitAcc does)
      const ma = f16x4(p + 8, fm, fb), mb = f16x4(p2 + 8, fm, fb);
      const dxs = f32x4.mul(v128.load(x, 128), f32x4.convert_i32x4_s(v128.load(x, 144)));
      let v = f32x4.splat(f32x4.extract_lane(dxs, 0)); f0 = fma(ma, v, f0); h0 = fma(mb, v, h0);
      v = f32x4.splat(f32x4.extract_lane(dxs, 1)); f1 = fma(ma, v, f1); h1 = fma(mb, v, h1);
      v = f32x4.splat(f32x4.extract_lane(dxs, 2)); f2 = fma(ma, v, f2); h2 = fma(mb, v, h2);
      v = f32x4.splat(f32x4.extract_lane(dxs, 3)); f3 = fma(ma, v, f3); h3 = fma(mb, v, h3);
    }
    p += unit;
    p2 += unit;
    u += ts;
    u2 += ts;
    x += 160;
  }
  storeRows4(out, t, m, g, f0, f1, f2, f3);
  storeRows4(out, t, m, g + 1, h0, h1, h2, h3);
}

/**
 * One kernel body for the four 4/5-bit formats: `fmt` is a compile-time constant after
 * inlining (0 = Q4_0, 1 = Q4_1, 2 = Q5_0, 3 = Q5_1). Prefill with per-thread scratch: Q4_0,
 * Q4_1 and Q5_0 (relaxed build) unpack each group's levels once per token tile and run four
 * activation rows, packed once per tile, against them (widenNibbles, packRows4, rowsNibbles4p:
 * Q4_0 22-24 -> 26-27 GMAC/s per thread with the nibbles unpacked, then +9-15 % with the rows
 * packed: bench/ab-kernels.ts; two groups at a time where rowsTiles4x2 runs the format, each
 * activation load feeding both); in the SIMD128 build Q4_0, Q4_1 and Q5_0 widen to int16 for
 * the Q8_0 kernels (widenQ45), and Q5_1 does in every build. Otherwise (no scratch, or a
 * single row) activation rows go two at a time: the unit's levels come from L1 for the second row.
 */
@inline function mmQ45(fmt: i32, w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void {
  const unit: usize = fmt == 0 ? 72 : fmt == 1 ? 80 : fmt == 2 ? 88 : 96;
  const qs: usize = fmt == 0 ? 8 : fmt == 1 ? 16 : fmt == 2 ? 24 : 32; // offset of row 0's nibbles
  const qh: usize = fmt == 2 ? 8 : 16;                                 // offset of row 0's fifth bits
  const nb = k >> 5;
  const gs = <usize>nb * unit;
  const x16o = <usize>k, xdo = 3 * <usize>k, xso = xdo + (<usize>nb << 2);
  const ones = onesI16(nb), lo = byteMask(nb, 0x0f), m10 = byteMask(nb, 0x10);
  const fm = f16Mask(nb), fb = f16Bias(nb);
  // prefill of Q4_0 / Q4_1 / Q5_0 with scratch in the SIMD128 build, and of Q5_1 in every build
  // (no level path for it below): widened groups, the Q8_0 prefill kernels (widenQ45; the host's
  // scratch: jobs.ts prefillScratchBytes)
  const wide = (fmt == 3 || !ASC_FEATURE_RELAXED_SIMD) && T >= 2 && scratch != 0;
  // prefill of Q4_0 / Q4_1 / Q5_0 in the relaxed build: unpacked levels, relaxed dots (widenNibbles)
  const nib = ASC_FEATURE_RELAXED_SIMD && fmt <= 2 && T >= 2 && scratch != 0;
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by
  const tt = wide ? tokenTile(2 * k + (k >> 3)) : nib ? tokenTile(k + (k >> 3)) : tokenTile(xs);
  // nib: the tile's activation rows packed four at a time (packRows4) after room for two unpacked
  // groups (rowsTiles4x2 runs two at a time: every format in the dot-add build, Q4_0/Q4_1 in the
  // plain relaxed one)
  const pk = scratch + (<usize>nb << 8), pstep = <usize>nb * 160;
  // wide: packed for rowsQ8_0w4 after the widened group (packRowsQ8w)
  const wunit: usize = fmt == 1 || fmt == 3 ? Q41_WIDE_UNIT : 272;
  const pw = scratch + <usize>nb * wunit, pwstep = <usize>nb * wunit;
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    if (nib) for (let t = t0; t + 4 <= t1; t += 4) packRows4(fmt, xq + <usize>t * <usize>xs, <usize>xs, k, nb, pk + <usize>((t - t0) >> 2) * pstep);
    if (wide) for (let t = t0; t + 4 <= t1; t += 4) packRowsQ8w(xq + <usize>t * <usize>xs, <usize>xs, k, nb, pw + <usize>((t - t0) >> 2) * pwstep, fmt == 1 || fmt == 3);
    for (let g = g0; g < g1; g++) {
      const gp = w + <usize>g * gs;
      let t = t0;
      if ((GEMMA_DOT_ADD || fmt <= 1) && nib && t1 - t0 >= 4 && g + 1 < g1) {
        // two groups at once; leftover rows against each (rowNibbles, as below)
        const gq = gp + gs, s2 = scratch + (<usize>nb << 7);
        widenNibbles(fmt, gp, nb, scratch, unit, qs, qh);
        widenNibbles(fmt, gq, nb, s2, unit, qs, qh);
        for (; t + 4 <= t1; t += 4) rowsTiles4x2(fmt, scratch, s2, 128, gp, gq, unit, pk + <usize>((t - t0) >> 2) * pstep, nb, ones, fm, fb, out, t, m, g);
        for (; t < t1; t++) {
          const xr = xq + <usize>t * <usize>xs;
          storeRows(out, t, m, g, rowNibbles(fmt, scratch, gp, unit, xr, k, nb, ones));
          storeRows(out, t, m, g + 1, rowNibbles(fmt, s2, gq, unit, xr, k, nb, ones));
        }
        g++;
        continue;
      }
      if (nib && t1 - t0 >= 2) {
        widenNibbles(fmt, gp, nb, scratch, unit, qs, qh);
        for (; t + 4 <= t1; t += 4) rowsNibbles4p(fmt, scratch, gp, unit, pk + <usize>((t - t0) >> 2) * pstep, nb, ones, fm, fb, out, t, m, g);
        for (; t < t1; t++) {
          const xr = xq + <usize>t * <usize>xs;
          storeRows(out, t, m, g, rowNibbles(fmt, scratch, gp, unit, xr, k, nb, ones));
        }
        continue;
      }
      if (wide && t1 - t0 >= 2) {
        widenQ45(fmt, gp, nb, scratch, unit, qs, qh);
        for (; t + 4 <= t1; t += 4) rowsQ8_0w4(scratch, pw + <usize>((t - t0) >> 2) * pwstep, nb, out, t, m, g, fmt == 1 || fmt == 3);
        for (; t < t1; t++) storeRows(out, t, m, g, rowQ8_0w(scratch, xq + <usize>t * <usize>xs, k, nb, fmt == 1 || fmt == 3));
        continue;
      }
      for (; t + 2 <= t1; t += 2) {
        const xa = xq + <usize>t * <usize>xs, xb = xa + <usize>xs;
        let acca = f32x4.splat(0), accb = acca;
        let p = gp;
        for (let b = 0; b < nb; b++) {
          const o8 = <usize>b << 5, o16 = <usize>b << 6, o4 = <usize>b << 2;
          const sxa = load<i32>(xa + xso + o4), sxb = load<i32>(xb + xso + o4);
          const sa = unitDots(fmt, p, qs, qh, xa + o8, xa + x16o + o16, sxa, ones, lo, m10);
          const sb = unitDots(fmt, p, qs, qh, xb + o8, xb + x16o + o16, sxb, ones, lo, m10);
          acca = unitAcc(fmt, p, acca, sa, load<f32>(xa + xdo + o4), sxa, fm, fb);
          accb = unitAcc(fmt, p, accb, sb, load<f32>(xb + xdo + o4), sxb, fm, fb);
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
          const s = unitDots(fmt, p, qs, qh, xr + (<usize>b << 5), xr + x16o + (<usize>b << 6), sx, ones, lo, m10);
          acc = unitAcc(fmt, p, acc, s, load<f32>(xr + xdo + o4), sx, fm, fb);
          p += unit;
        }
        storeRows(out, t, m, g, acc);
      }
    }
  }
}

export function mmQ4_0(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void { mmQ45(0, w, xq, xs, out, m, k, T, g0, g1, scratch); }
export function mmQ4_1(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void { mmQ45(1, w, xq, xs, out, m, k, T, g0, g1, scratch); }
export function mmQ5_0(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void { mmQ45(2, w, xq, xs, out, m, k, T, g0, g1, scratch); }
export function mmQ5_1(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void { mmQ45(3, w, xq, xs, out, m, k, T, g0, g1, scratch); }

