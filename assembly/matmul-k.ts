// Matrix-vector / matrix-matrix products for the K-quant formats (Q4_K, Q5_K, Q6_K)
// against Q8K-quantized activations (quantize.ts: 256-element blocks, sums per 16).
//
// Weight layout ("x4", repack.ts): rows four at a time, the four rows' super-block b stored
// back to back (standard ggml blocks, unchanged inside), so a thread reads one stream.
//
// Per super-block and row (integer sums exact, one float multiply at the end):
//   Q4_K/Q5_K: y += d dx sum_j sc_j (q_j . x_j) - dmin dx sum_j m_j sum(x_j)    (8 x 32)
//   Q6_K:      y += d dx sum_j sc_j (q_j . x_j - 32 sum(x_j))                   (16 x 16)
// q are unsigned levels (0..15, 0..31, 0..63), sum(x_j) come from the activation bsums.

import { byteMask, dotAdd32, dotU16, dotU32, f16, f16x4x, hadd4i, hiNibbles, hsumi, moveBits, onesI16, transposeStore, vec4 } from './common';
import { storeRows, storeRows4, tileDots, tokenTile, widenHalf } from './matmul-q';

/** the eight 6-bit scales (sc) or mins (m) of a Q4_K/Q5_K block as two i32x4 (j 0..3, 4..7);
 *  ggml's packing (k-scales.ts): u0,u1,u2 = the three little-endian u32 of the 12 bytes */
@inline function scLo(u0: u32): v128 { return bytesToI32(u0 & 0x3f3f3f3f); }
@inline function scHi(u0: u32, u2: u32): v128 { return bytesToI32((u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030)); }
@inline function mLo(u1: u32): v128 { return bytesToI32(u1 & 0x3f3f3f3f); }
@inline function mHi(u1: u32, u2: u32): v128 { return bytesToI32(((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030)); }
@inline function bytesToI32(u: u32): v128 {
  return i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(i32x4.splat(u)));
}

/** (s0+s1, s2+s3, s4+s5, s6+s7) from eight per-16 sums in two vectors: per-32 sums */
@inline function pairSums(a: v128, b: v128): v128 {
  return i32x4.add(v128.shuffle<i32>(a, b, 0, 2, 4, 6), v128.shuffle<i32>(a, b, 1, 3, 5, 7));
}

/**
 * Dot-add build: a Q4_K/Q5_K super-block's scaled sub-block dots sum_j sc_j (q_j . x_j) in the
 * lanes of an i32x4 (blocksQ45K4 reduces four rows' at once): each 32-element sub-block summed in
 * i32 by two dot-adds and multiplied by its 6-bit scale broadcast to every lane (no horizontal
 * sums; |sums| <= 8 * 31 * 127 per lane, times 63 in i32: no overflow); the same integer totals
 * as chunkQ45K's.
 */
@inline function subDotsQ45K(q5: bool, p: usize, x8: usize, lo: v128, m10: v128): v128 {
  if (!GEMMA_DOT_ADD) return lo; // never called in the other builds
  const u0 = load<u32>(p, 4), u2 = load<u32>(p, 12);
  const qs = p + (q5 ? 48 : 16);
  const sl = scLo(u0), sh = scHi(u0, u2);
  // Q4_K: the even (low-nibble) sub-blocks' scales times 16 (see below)
  const el = q5 ? sl : i32x4.shl(sl, 4), eh = q5 ? sh : i32x4.shl(sh, 4);
  const s0 = v128.shuffle<i32>(el, el, 0, 0, 0, 0), s1 = v128.shuffle<i32>(sl, sl, 1, 1, 1, 1);
  const s2 = v128.shuffle<i32>(el, el, 2, 2, 2, 2), s3 = v128.shuffle<i32>(sl, sl, 3, 3, 3, 3);
  const s4 = v128.shuffle<i32>(eh, eh, 0, 0, 0, 0), s5 = v128.shuffle<i32>(sh, sh, 1, 1, 1, 1);
  const s6 = v128.shuffle<i32>(eh, eh, 2, 2, 2, 2), s7 = v128.shuffle<i32>(sh, sh, 3, 3, 3, 3);
  let acc: v128;
  // chunk c holds sub-blocks 2c (low nibbles) and 2c+1 (high nibbles) of 32 bytes
  if (!q5) {
    // Q4_K: the high nibbles stay in place (16 q, u8 <= 240: the dot-add build reads its weight
    // operand unsigned, loader.ts self-test) and the low nibbles' scales are taken 16 times, so
    // this sums 16 sum_j sc_j (q_j . x_j) (|lane| <= 8 * 8 * 240 * 127 * 63 < 2^31 / 4: exact
    // through hadd4i) without a shift per vector; blocksQ45K4 divides by 16
    let a = v128.load(qs), b = v128.load(qs, 16);
    acc = scaledDot32(v128.and(a, lo), v128.and(b, lo), x8, s0);
    acc = i32x4.add(acc, scaledDot32(v128.andnot(a, lo), v128.andnot(b, lo), x8 + 32, s1));
    a = v128.load(qs, 32); b = v128.load(qs, 48);
    acc = i32x4.add(acc, scaledDot32(v128.and(a, lo), v128.and(b, lo), x8 + 64, s2));
    acc = i32x4.add(acc, scaledDot32(v128.andnot(a, lo), v128.andnot(b, lo), x8 + 96, s3));
    a = v128.load(qs, 64); b = v128.load(qs, 80);
    acc = i32x4.add(acc, scaledDot32(v128.and(a, lo), v128.and(b, lo), x8 + 128, s4));
    acc = i32x4.add(acc, scaledDot32(v128.andnot(a, lo), v128.andnot(b, lo), x8 + 160, s5));
    a = v128.load(qs, 96); b = v128.load(qs, 112);
    acc = i32x4.add(acc, scaledDot32(v128.and(a, lo), v128.and(b, lo), x8 + 192, s6));
    acc = i32x4.add(acc, scaledDot32(v128.andnot(a, lo), v128.andnot(b, lo), x8 + 224, s7));
  } else {
    // fifth bit of element 64c+l: bit 2c of qh[l]; of element 64c+32+l: bit 2c+1 (moved to bit 4)
    const ha = v128.load(p, 16), hb = v128.load(p, 32);
    let a = v128.load(qs), b = v128.load(qs, 16);
    acc = scaledDot32(v128.or(v128.and(a, lo), moveBits(ha, 0, 4, m10)), v128.or(v128.and(b, lo), moveBits(hb, 0, 4, m10)), x8, s0);
    acc = i32x4.add(acc, scaledDot32(v128.or(hiNibbles(a, lo), moveBits(ha, 1, 4, m10)), v128.or(hiNibbles(b, lo), moveBits(hb, 1, 4, m10)), x8 + 32, s1));
    a = v128.load(qs, 32); b = v128.load(qs, 48);
    acc = i32x4.add(acc, scaledDot32(v128.or(v128.and(a, lo), moveBits(ha, 2, 4, m10)), v128.or(v128.and(b, lo), moveBits(hb, 2, 4, m10)), x8 + 64, s2));
    acc = i32x4.add(acc, scaledDot32(v128.or(hiNibbles(a, lo), moveBits(ha, 3, 4, m10)), v128.or(hiNibbles(b, lo), moveBits(hb, 3, 4, m10)), x8 + 96, s3));
    a = v128.load(qs, 64); b = v128.load(qs, 80);
    acc = i32x4.add(acc, scaledDot32(v128.or(v128.and(a, lo), moveBits(ha, 4, 4, m10)), v128.or(v128.and(b, lo), moveBits(hb, 4, 4, m10)), x8 + 128, s4));
    acc = i32x4.add(acc, scaledDot32(v128.or(hiNibbles(a, lo), moveBits(ha, 5, 4, m10)), v128.or(hiNibbles(b, lo), moveBits(hb, 5, 4, m10)), x8 + 160, s5));
    a = v128.load(qs, 96); b = v128.load(qs, 112);
    acc = i32x4.add(acc, scaledDot32(v128.or(v128.and(a, lo), moveBits(ha, 6, 4, m10)), v128.or(v128.and(b, lo), moveBits(hb, 6, 4, m10)), x8 + 192, s6));
    acc = i32x4.add(acc, scaledDot32(v128.or(hiNibbles(a, lo), moveBits(ha, 7, 4, m10)), v128.or(hiNibbles(b, lo), moveBits(hb, 7, 4, m10)), x8 + 224, s7));
  }
  return acc;
}

/**
 * Plain relaxed and SIMD128 builds: chunk c of a Q4_K/Q5_K super-block at p (c = h, or h + 2
 * when `high`: sub-blocks 2c, 2c + 1, of scales j = 2c, 2c + 1) against its 64 activations,
 * scaled and added to acc (i32 lanes). Relaxed: each sub-block's two relaxed dots against
 * xa, xb (xe, xf) added in int16 (4 products per lane, 4 * 31 * 127 < 32767) and widened by
 * pmaddwd against the scale broadcast. SIMD128: the levels widened to int16 against the int16
 * activations at x16, times the scale. blocksQ45K4 runs the chunks of its four rows in a loop:
 * V8 up to 12.x (Node 20, 22) moved the loads of a straight-line four-row super-block ahead of
 * their arithmetic and spilled (plain relaxed Q4_K decode 8 GB/s; 17 in the loop, and 1.07x on
 * V8 13.6; the SIMD128 build gains on V8 and JavaScriptCore too).
 */
@inline function chunkQ45K(q5: bool, high: bool, p: usize, h: i32, xa: v128, xb: v128, xe: v128, xf: v128, x16: usize, ones: v128, lo: v128, m10: v128, acc: v128): v128 {
  if (GEMMA_DOT_ADD) return lo; // not in the dot-add build
  // the two 6-bit scales (ggml's packing, as scLo / scHi): bytes 2h, 2h + 1 of sc
  const o = <usize>h << 1;
  const w0 = <u32>load<u16>(p + o, 4);
  const pair = !high ? w0 & 0x3f3f : (<u32>load<u16>(p + o, 12) & 0x0f0f) | ((w0 >> 2) & 0x3030);
  const c = high ? h + 2 : h;
  const qs = p + (q5 ? 48 : 16) + (<usize>c << 5);
  const a = v128.load(qs), b = v128.load(qs, 16);
  let la = v128.and(a, lo), lb = v128.and(b, lo), ha = hiNibbles(a, lo), hb = hiNibbles(b, lo);
  if (q5) {
    // fifth bit of element 64c+l: bit 2c of qh[l]; of element 64c+32+l: bit 2c+1 (to bit 4)
    const sc = <u32>(c << 1);
    const qa = i16x8.shr_u(v128.load(p, 16), sc), qb = i16x8.shr_u(v128.load(p, 32), sc);
    la = v128.or(la, moveBits(qa, 0, 4, m10)); lb = v128.or(lb, moveBits(qb, 0, 4, m10));
    ha = v128.or(ha, moveBits(qa, 1, 4, m10)); hb = v128.or(hb, moveBits(qb, 1, 4, m10));
  }
  if (!ASC_FEATURE_RELAXED_SIMD) {
    acc = i32x4.add(acc, i32x4.mul(dotU32(la, lb, 0, x16, ones), i32x4.splat(pair & 0xff)));
    return i32x4.add(acc, i32x4.mul(dotU32(ha, hb, 0, x16 + 64, ones), i32x4.splat(pair >> 8)));
  }
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xa, la), i16x8.relaxed_dot_i8x16_i7x16_s(xb, lb)), i16x8.splat(<i16>(pair & 0xff))));
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xe, ha), i16x8.relaxed_dot_i8x16_i7x16_s(xf, hb)), i16x8.splat(<i16>(pair >> 8))));
}

/** a Q4_K/Q5_K super-block's sum_j m_j sum(x_j) in the lanes of an i32x4 (bs32lo/hi: the
 *  activations' per-32 sums) */
@inline function minDotsQ45K(p: usize, bs32lo: v128, bs32hi: v128): v128 {
  const u1 = load<u32>(p, 8), u2 = load<u32>(p, 12);
  return i32x4.add(i32x4.mul(bs32lo, mLo(u1)), i32x4.mul(bs32hi, mHi(u1, u2)));
}

/**
 * Decode: super-block b of the group's four rows (at p, bb bytes apart) against one activation
 * row (x8: int8, x16: as int16 for the SIMD128 build), added to acc lane by lane:
 * dx (d isum - dmin msum) per row, with the integer sums isum = sum_j sc_j (q_j . x_j) (exact,
 * so every build's order gives the same) from subDotsQ45K per row (dot-add build) or chunkQ45K
 * over the four rows in a loop (the other builds), and msum = sum_j m_j sum(x_j). The prefill
 * kernels compute the same expression lane by lane.
 */
@inline function blocksQ45K4(q5: bool, p: usize, bb: usize, x8: usize, x16: usize, dx: f32, bs32lo: v128, bs32hi: v128, ones: v128, lo: v128, m10: v128, acc: v128): v128 {
  let isum: v128;
  if (GEMMA_DOT_ADD) {
    isum = hadd4i(subDotsQ45K(q5, p, x8, lo, m10), subDotsQ45K(q5, p + bb, x8, lo, m10), subDotsQ45K(q5, p + 2 * bb, x8, lo, m10), subDotsQ45K(q5, p + 3 * bb, x8, lo, m10));
    if (!q5) isum = i32x4.shr_s(isum, 4); // Q4_K's sums come 16 times (subDotsQ45K)
  } else {
    let i0 = i32x4.splat(0), i1 = i0, i2 = i0, i3 = i0;
    for (let h = 0; h < 2; h++) { // chunks h and h + 2 of the four rows (chunkQ45K)
      let xc = x8 + (<usize>h << 6), yc = x16 + (<usize>h << 7);
      let xa = lo, xb = lo, xe = lo, xf = lo;
      if (ASC_FEATURE_RELAXED_SIMD) { xa = v128.load(xc); xb = v128.load(xc, 16); xe = v128.load(xc, 32); xf = v128.load(xc, 48); }
      i0 = chunkQ45K(q5, false, p, h, xa, xb, xe, xf, yc, ones, lo, m10, i0);
      i1 = chunkQ45K(q5, false, p + bb, h, xa, xb, xe, xf, yc, ones, lo, m10, i1);
      i2 = chunkQ45K(q5, false, p + 2 * bb, h, xa, xb, xe, xf, yc, ones, lo, m10, i2);
      i3 = chunkQ45K(q5, false, p + 3 * bb, h, xa, xb, xe, xf, yc, ones, lo, m10, i3);
      xc += 128; yc += 256;
      if (ASC_FEATURE_RELAXED_SIMD) { xa = v128.load(xc); xb = v128.load(xc, 16); xe = v128.load(xc, 32); xf = v128.load(xc, 48); }
      i0 = chunkQ45K(q5, true, p, h, xa, xb, xe, xf, yc, ones, lo, m10, i0);
      i1 = chunkQ45K(q5, true, p + bb, h, xa, xb, xe, xf, yc, ones, lo, m10, i1);
      i2 = chunkQ45K(q5, true, p + 2 * bb, h, xa, xb, xe, xf, yc, ones, lo, m10, i2);
      i3 = chunkQ45K(q5, true, p + 3 * bb, h, xa, xb, xe, xf, yc, ones, lo, m10, i3);
    }
    isum = hadd4i(i0, i1, i2, i3);
  }
  const msum = hadd4i(minDotsQ45K(p, bs32lo, bs32hi), minDotsQ45K(p + bb, bs32lo, bs32hi), minDotsQ45K(p + 2 * bb, bs32lo, bs32hi), minDotsQ45K(p + 3 * bb, bs32lo, bs32hi));
  // (d, dmin) of the four rows: the u32 at each block's start, d in its low half, dmin high
  const dd = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(load<i32>(p)), 1, load<i32>(p + bb)), 2, load<i32>(p + 2 * bb)), 3, load<i32>(p + 3 * bb));
  // f16x4x: these scales are often f16 subnormals (common.ts f16)
  const d = f16x4x(i32x4.shr_s(i32x4.shl(dd, 16), 16)), dmin = f16x4x(i32x4.shr_s(dd, 16));
  return f32x4.add(acc, f32x4.mul(f32x4.splat(dx), f32x4.sub(f32x4.mul(d, f32x4.convert_i32x4_s(isum)), f32x4.mul(dmin, f32x4.convert_i32x4_s(msum)))));
}

/** dot-add build: 32 unsigned levels (a: elements 0..15, b: 16..31) against 32 int8 activations
 *  at x8, times the sub-block's scale in every i32 lane (s) */
@inline function scaledDot32(a: v128, b: v128, x8: usize, s: v128): v128 {
  if (!GEMMA_DOT_ADD) return s; // never called in the other builds
  return i32x4.mul(dotAdd32(a, b, x8), s);
}

@inline function mmQ45K(q5: bool, w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void {
  const bb: usize = q5 ? 176 : 144;
  const nb = k >> 8;
  const gs = <usize>nb * (bb << 2);
  const ones = onesI16(nb), lo = byteMask(nb, 0x0f), m10 = byteMask(nb, 0x10); // see common.ts dotQ8r, byteMask
  // prefill in the relaxed build with scratch: unpacked groups (widenQ45K); in the SIMD128
  // build: int16-widened groups (widenQ45Ks)
  const wide = ASC_FEATURE_RELAXED_SIMD && T >= 2 && scratch != 0;
  const wideS = !ASC_FEATURE_RELAXED_SIMD && T >= 4 && scratch != 0;
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by
  const tt = tokenTile(xs);
  // wide: the tile's activation rows packed four at a time after the unpacked group (packRowsQ8K;
  // SIMD128: packRowsQ8Ks)
  const pk = scratch + (wideS ? QKS_WIDE : QK_WIDE) * <usize>nb, pstep = <usize>nb << (wideS ? 11 : 10);
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    if (wide) for (let t = t0; t + 4 <= t1; t += 4) packRowsQ8K(xq + <usize>t * <usize>xs, <usize>xs, nb, pk + <usize>((t - t0) >> 2) * pstep);
    if (wideS) for (let t = t0; t + 4 <= t1; t += 4) packRowsQ8Ks(xq + <usize>t * <usize>xs, <usize>xs, k, nb, pk + <usize>((t - t0) >> 2) * pstep);
    for (let g = g0; g < g1; g++) {
      const gp = w + <usize>g * gs;
      if (wide && t1 - t0 >= 2) {
        widenQ45K(q5, gp, nb, scratch);
        let t = t0;
        for (; t + 4 <= t1; t += 4) rowsQ45K4(q5, scratch, pk + <usize>((t - t0) >> 2) * pstep, xq + <usize>t * <usize>xs, <usize>xs, k, nb, out, t, m, g);
        for (; t < t1; t++) storeRows(out, t, m, g, rowQ45K1(q5, scratch, xq + <usize>t * <usize>xs, k, nb));
        continue;
      }
      let ts = t0;
      if (wideS && t1 - t0 >= 4) {
        widenQ45Ks(q5, gp, nb, scratch);
        for (; ts + 4 <= t1; ts += 4) rowsKs4(false, scratch, pk + <usize>((ts - t0) >> 2) * pstep, xq + <usize>ts * <usize>xs, <usize>xs, k, nb, out, ts, m, g);
        // leftover rows: the decode kernel below (the same sums and rounding)
      }
      for (let t = ts; t < t1; t++) {
        const xr = xq + <usize>t * <usize>xs;
        const x16r = xr + <usize>k, xd = xr + 3 * <usize>k, bsr = xd + (<usize>nb << 2);
        let p = gp;
        let acc = f32x4.splat(0);
        for (let b = 0; b < nb; b++) {
          const bs = bsr + (<usize>b << 6);
          const bl = pairSums(v128.load(bs), v128.load(bs, 16)), bh = pairSums(v128.load(bs, 32), v128.load(bs, 48));
          acc = blocksQ45K4(q5, p, bb, xr + (<usize>b << 8), x16r + (<usize>b << 9), load<f32>(xd + (<usize>b << 2)), bl, bh, ones, lo, m10, acc);
          p += bb << 2;
        }
        storeRows(out, t, m, g, acc);
      }
    }
  }
}

/**
 * Relaxed build, prefill of Q4_K / Q5_K: each group's super-blocks are unpacked once per token
 * tile into per-thread scratch, QK_WIDE bytes per super-block:
 *   [sub-block j = 0..7][vector v = 0..7] 16 bytes: columns 4v..4v+3 of sub-block j of rows
 *     0, 1, 2, 3 as levels 0..15 / 0..31 (the i7 operand of relaxed_dot)      1024 bytes
 *   sc_j over the four rows as int16 pairs (sc_r0, sc_r0, sc_r1, sc_r1, ..), j = 0..7 128
 *   m_j over the four rows (i32x4), j = 0..7                                    128
 *   d, dmin over the four rows (f32x4 each)                                     32
 * Then four activation rows at a time: per sub-block eight relaxed dots against broadcast
 * activation quads summed in int16 (matmul-q.ts tileDots), and pmaddwd by sc_j as int16 pairs
 * gives the four rows' scaled dots in the four lanes; the integer sums and the float expression
 * are those of blocksQ45K4, so results are the same bit for bit.
 */
const QK_WIDE: usize = 1312;

/**
 * The scales and mins of the four rows' Q4_K/Q5_K super-blocks at r0..r3, over the rows: sc_j
 * (i32x4, j = 0..7) at o, m_j at o + 128, d (f32x4) at o + 256, dmin at o + 272 (the widened
 * groups of both builds keep this layout)
 */
@inline function kScales(r0: usize, r1: usize, r2: usize, r3: usize, o: usize): void {
  transposeStore(scLo(load<u32>(r0, 4)), scLo(load<u32>(r1, 4)), scLo(load<u32>(r2, 4)), scLo(load<u32>(r3, 4)), o);
  transposeStore(scHi(load<u32>(r0, 4), load<u32>(r0, 12)), scHi(load<u32>(r1, 4), load<u32>(r1, 12)), scHi(load<u32>(r2, 4), load<u32>(r2, 12)), scHi(load<u32>(r3, 4), load<u32>(r3, 12)), o + 64);
  transposeStore(mLo(load<u32>(r0, 8)), mLo(load<u32>(r1, 8)), mLo(load<u32>(r2, 8)), mLo(load<u32>(r3, 8)), o + 128);
  transposeStore(mHi(load<u32>(r0, 8), load<u32>(r0, 12)), mHi(load<u32>(r1, 8), load<u32>(r1, 12)), mHi(load<u32>(r2, 8), load<u32>(r2, 12)), mHi(load<u32>(r3, 8), load<u32>(r3, 12)), o + 192);
  v128.store(o, vec4(f16(load<u16>(r0)), f16(load<u16>(r1)), f16(load<u16>(r2)), f16(load<u16>(r3))), 256);
  v128.store(o, vec4(f16(load<u16>(r0, 2)), f16(load<u16>(r1, 2)), f16(load<u16>(r2, 2)), f16(load<u16>(r3, 2))), 272);
}


@inline function widenQ45K(q5: bool, gp: usize, nb: i32, s: usize): void { widenK45(false, q5, gp, nb, s); }

/**
 * The two builds' Q4_K/Q5_K group widening: each sub-block's levels of the four rows as 4 x 4
 * tiles (pairs = false: widenQ45K, QK_WIDE per super-block, the scales then as int16 pairs) or
 * as int16 column pairs (pairs = true: widenQ45Ks, QKS_WIDE), then kScales
 */
@inline function widenK45(pairs: bool, q5: bool, gp: usize, nb: i32, s: usize): void {
  const lo = byteMask(nb, 0x0f), one = byteMask(nb, 1);
  const bb: usize = q5 ? 176 : 144, qo: usize = q5 ? 48 : 16;
  let p = gp, q = s;
  for (let b = 0; b < nb; b++) {
    const r0 = p, r1 = p + bb, r2 = p + 2 * bb, r3 = p + 3 * bb;
    for (let c: usize = 0; c < 4; c++) {
      // chunk c: sub-block 2c (low nibbles) and 2c+1 (high) of the four rows, 32 bytes each,
      // columns h..h+15 at a time
      const o = qo + (c << 5), e = q + (pairs ? c << 9 : c << 8);
      for (let h: usize = 0; h < 32; h += 16) {
        const a0 = v128.load(r0 + o + h), a1 = v128.load(r1 + o + h), a2 = v128.load(r2 + o + h), a3 = v128.load(r3 + o + h);
        let l0 = v128.and(a0, lo), l1 = v128.and(a1, lo), l2 = v128.and(a2, lo), l3 = v128.and(a3, lo);
        let h0 = hiNibbles(a0, lo), h1 = hiNibbles(a1, lo), h2 = hiNibbles(a2, lo), h3 = hiNibbles(a3, lo);
        if (q5) {
          // the fifth bit of sub-block j is bit j of qh[l] (l: the column)
          const sl = <u32>(c << 1), sh = sl + 1, qh = 16 + h;
          l0 = v128.or(l0, fifth(r0 + qh, sl, one)); l1 = v128.or(l1, fifth(r1 + qh, sl, one));
          l2 = v128.or(l2, fifth(r2 + qh, sl, one)); l3 = v128.or(l3, fifth(r3 + qh, sl, one));
          h0 = v128.or(h0, fifth(r0 + qh, sh, one)); h1 = v128.or(h1, fifth(r1 + qh, sh, one));
          h2 = v128.or(h2, fifth(r2 + qh, sh, one)); h3 = v128.or(h3, fifth(r3 + qh, sh, one));
        }
        if (pairs) {
          widenHalf(l0, l1, l2, l3, e + (h << 3));       // sub-block 2c: 16 column pairs, 256 bytes
          widenHalf(h0, h1, h2, h3, e + 256 + (h << 3)); // sub-block 2c+1
        } else {
          transposeStore(l0, l1, l2, l3, e + (h << 2));       // sub-block 2c: 8 column quads, 128 bytes
          transposeStore(h0, h1, h2, h3, e + 128 + (h << 2)); // sub-block 2c+1
        }
      }
    }
    if (pairs) {
      kScales(r0, r1, r2, r3, q + 2048);
    } else {
      kScales(r0, r1, r2, r3, q + 1024);
      // the scales (< 64) as int16 pairs: the pmaddwd multiplier of the kernels' pair sums
      for (let j: usize = 0; j < 128; j += 16) {
        const v = v128.load(q + 1024 + j);
        v128.store(q + 1024 + j, v128.or(v, i32x4.shl(v, 16)));
      }
    }
    p += bb << 2;
    q += pairs ? QKS_WIDE : QK_WIDE;
  }
}

/** Q5_K: bit `bit` (a run-time 0..7) of the 16 qh bytes at h, moved to bit 4 (the level's
 *  fifth bit); 16-bit shifts: the mask keeps bit 0 of each byte, and a byte of 0 or 1 shifted
 *  left by 4 stays in its byte */
@inline function fifth(h: usize, bit: u32, one: v128): v128 {
  return i16x8.shl(v128.and(i16x8.shr_u(v128.load(h), bit), one), 4);
}


/** the four rows' i32 dots from one (Q4_K) or two (Q5_K) int16 partial sums, each lane pair
 *  times its multiplier in m (ones, or the rows' scales as int16 pairs) */
@inline function widen2(q5: bool, a: v128, b: v128, m: v128): v128 {
  return q5 ? i32x4.add(i32x4.dot_i16x8_s(a, m), i32x4.dot_i16x8_s(b, m)) : i32x4.dot_i16x8_s(a, m);
}

/**
 * Pack activation rows t..t+3 (Q8K at xr, stride xs) for rowsQ45K4, 1024 bytes per
 * super-block: its 256 int8 quants as 64 column quads, each quad's four rows side by side (a
 * 4 x 4 transpose of i32 lanes per 16 columns), so that every activation broadcast of the
 * kernels is at a constant offset from one pointer (with four row pointers V8 spent an address
 * computation on each). Scales and sums stay in the rows (read once per super-block).
 */
@inline function packRowsQ8K(xr: usize, xs: usize, nb: i32, dst: usize): void {
  const x1 = xr + xs, x2 = x1 + xs, x3 = x2 + xs;
  let d = dst;
  for (let b = 0; b < nb; b++) {
    const o = <usize>b << 8;
    for (let c: usize = 0; c < 256; c += 16) transposeStore(v128.load(xr + o + c), v128.load(x1 + o + c), v128.load(x2 + o + c), v128.load(x3 + o + c), d + (c << 2));
    d += 1024;
  }
}

/** four activation rows (Q8K, stride xs) against a group unpacked by widenQ45K at s */
@inline function rowsQ45K4(q5: bool, s: usize, pk: usize, xr: usize, xs: usize, k: i32, nb: i32, out: usize, t: i32, m: i32, g: i32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return; // never called in the SIMD128 build
  const xd = 3 * <usize>k, bso = xd + (<usize>nb << 2);
  let f0 = f32x4.splat(0), f1 = f0, f2 = f0, f3 = f0;
  let q = s;
  const m16 = i32x4.splat(0xffff * min(nb, 1)); // the dot-add path's scale mask, held in a register
  for (let b = 0; b < nb; b++) {
    const xb = pk + (<usize>b << 10); // the super-block's packed quads (packRowsQ8K)
    let i0 = i32x4.splat(0), i1 = i0, i2 = i0, i3 = i0;
    if (GEMMA_DOT_ADD) {
      // dot-add build: each sub-block's four dots straight into i32 (levels <= 31 need no
      // split), then times the rows' scales (the low halves of the pmaddwd pairs)
      for (let j: usize = 0; j < 8; j++) {
        const u = q + (j << 7), x = xb + (j << 7);
        let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        for (let v: usize = 0; v < 128; v += 16) {
          const wv = v128.load(u + v), c = x + v;
          a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(c), wv, a0);
          a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(c, 4), wv, a1);
          a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(c, 8), wv, a2);
          a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(c, 12), wv, a3);
        }
        const sc = v128.and(v128.load(q + 1024 + (j << 4)), m16);
        i0 = i32x4.add(i0, i32x4.mul(a0, sc));
        i1 = i32x4.add(i1, i32x4.mul(a1, sc));
        i2 = i32x4.add(i2, i32x4.mul(a2, sc));
        i3 = i32x4.add(i3, i32x4.mul(a3, sc));
      }
    } else {
      for (let j: usize = 0; j < 8; j++) {
        const u = q + (j << 7), x = xb + (j << 7);
        // each weight vector loaded once for the four rows; Q5_K: columns 16..31 in b0..b3
        let a0 = i16x8.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (let v: usize = 0; v < 64; v += 16) {
          const wv = v128.load(u + v), c = x + v;
          a0 = i16x8.add(a0, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c), wv));
          a1 = i16x8.add(a1, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c, 4), wv));
          a2 = i16x8.add(a2, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c, 8), wv));
          a3 = i16x8.add(a3, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c, 12), wv));
        }
        for (let v: usize = 64; v < 128; v += 16) {
          const wv = v128.load(u + v), c = x + v;
          if (q5) {
            b0 = i16x8.add(b0, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c), wv));
            b1 = i16x8.add(b1, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c, 4), wv));
            b2 = i16x8.add(b2, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c, 8), wv));
            b3 = i16x8.add(b3, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c, 12), wv));
          } else {
            a0 = i16x8.add(a0, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c), wv));
            a1 = i16x8.add(a1, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c, 4), wv));
            a2 = i16x8.add(a2, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c, 8), wv));
            a3 = i16x8.add(a3, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(c, 12), wv));
          }
        }
        // each row's pair sums widened and scaled in one pmaddwd (scales as int16 pairs)
        const sc = v128.load(q + 1024 + (j << 4));
        i0 = i32x4.add(i0, widen2(q5, a0, b0, sc));
        i1 = i32x4.add(i1, widen2(q5, a1, b1, sc));
        i2 = i32x4.add(i2, widen2(q5, a2, b2, sc));
        i3 = i32x4.add(i3, widen2(q5, a3, b3, sc));
      }
    }
    const d = v128.load(q, 1280), dmin = v128.load(q, 1296), bo = bso + (<usize>b << 6), db = <usize>b << 2;
    f0 = f32x4.add(f0, superAcc(q + 1152, xr + bo, load<f32>(xr + xd + db), i0, d, dmin));
    f1 = f32x4.add(f1, superAcc(q + 1152, xr + xs + bo, load<f32>(xr + xs + xd + db), i1, d, dmin));
    f2 = f32x4.add(f2, superAcc(q + 1152, xr + 2 * xs + bo, load<f32>(xr + 2 * xs + xd + db), i2, d, dmin));
    f3 = f32x4.add(f3, superAcc(q + 1152, xr + 3 * xs + bo, load<f32>(xr + 3 * xs + xd + db), i3, d, dmin));
    q += QK_WIDE;
  }
  storeRows4(out, t, m, g, f0, f1, f2, f3);
}

/** one activation row (the rows left over by rowsQ45K4) against a group unpacked at s */
@inline function rowQ45K1(q5: bool, s: usize, xr: usize, k: i32, nb: i32): v128 {
  const xd = 3 * <usize>k, bso = xd + (<usize>nb << 2);
  let f = f32x4.splat(0);
  let q = s;
  for (let b = 0; b < nb; b++) {
    const x0 = xr + (<usize>b << 8);
    let i0 = i32x4.splat(0);
    for (let j: usize = 0; j < 8; j++) i0 = i32x4.add(i0, tileDots(q5, x0 + (j << 5), q + (j << 7), v128.load(q + 1024 + (j << 4))));
    f = f32x4.add(f, superAcc(q + 1152, xr + bso + (<usize>b << 6), load<f32>(xr + xd + (<usize>b << 2)), i0, v128.load(q, 1280), v128.load(q, 1296)));
    q += QK_WIDE;
  }
  return f;
}

/**
 * SIMD128 build, prefill of Q4_K / Q5_K: each group's super-blocks are widened once per token
 * tile into per-thread scratch, QKS_WIDE bytes per super-block:
 *   [sub-block j = 0..7][pair c = 0..15] 16 bytes: columns 2c, 2c+1 of sub-block j of rows
 *     0..3 as int16 levels (matmul-q.ts widenHalf: the Q8_0 prefill's column pairs)  2048 bytes
 *   sc_j over the four rows (i32x4), j = 0..7                                        128
 *   m_j over the four rows (i32x4), j = 0..7                                         128
 *   d, dmin over the four rows (f32x4 each)                                          32
 * and four activation rows at a time run pmaddwd against their int16 quants broadcast by column
 * pairs (packRowsQ8Ks): the four rows' sub-block dots build up in the four lanes, times sc_j
 * (one i32 multiply), and the float expression is blocksQ45K4's lane by lane: the integer sums
 * and the float operations are the same, so results are the same bit for bit. (The SIMD128
 * decode kernel took 16 widenings and 16 pmaddwd per 32 columns of one weight row and one
 * activation row; here 16 pmaddwd serve 4 x 4 rows.)
 */
const QKS_WIDE: usize = 2336;

@inline function widenQ45Ks(q5: bool, gp: usize, nb: i32, s: usize): void { widenK45(true, q5, gp, nb, s); }

/**
 * Pack activation rows t..t+3 (Q8K at xr, stride xs: int16 quants at 2k..) for rowsKs4,
 * 2048 bytes per super-block: its 128 column pairs, each pair's four rows side by side (a
 * 4 x 4 transpose of i32 lanes per 8 columns, as matmul-q.ts packRowsQ8w). Scales and sums
 * stay in the rows.
 */
@inline function packRowsQ8Ks(xr: usize, xs: usize, k: i32, nb: i32, dst: usize): void {
  const x16 = <usize>k;
  const x1 = xr + xs, x2 = x1 + xs, x3 = x2 + xs;
  let d = dst;
  for (let b = 0; b < nb; b++) {
    const o = x16 + (<usize>b << 9);
    for (let c: usize = 0; c < 512; c += 16) transposeStore(v128.load(xr + o + c), v128.load(x1 + o + c), v128.load(x2 + o + c), v128.load(x3 + o + c), d + (c << 2));
    d += 2048;
  }
}

/**
 * SIMD128 build, K-quant prefill: four activation rows (Q8K at xr, stride xs; packed by
 * packRowsQ8Ks at x) against a group widened at s, by widenQ45Ks (q6 = false: eight sub-blocks
 * of 32 columns, QKS_WIDE bytes per super-block) or widenQ6Ks (q6 = true: sixteen of 16,
 * Q6S_WIDE). Per sub-block j the four rows' dots build up in the four lanes by pmaddwd against
 * broadcast column pairs (Q6_K: minus 32 bsum_j), times sc_j; then blocksQ45K4's or blockQ6K's
 * float expression lane by lane.
 */
@inline function rowsKs4(q6: bool, s: usize, x: usize, xr: usize, xs: usize, k: i32, nb: i32, out: usize, t: i32, m: i32, g: i32): void {
  const xd = 3 * <usize>k, bso = xd + (<usize>nb << 2);
  const sub: usize = q6 ? 128 : 256; // bytes of a sub-block's column pairs
  let f0 = f32x4.splat(0), f1 = f0, f2 = f0, f3 = f0;
  let q = s, xp = x;
  for (let b = 0; b < nb; b++) {
    const bs = xr + bso + (<usize>b << 6);
    let i0 = i32x4.splat(0), i1 = i0, i2 = i0, i3 = i0;
    for (let j: usize = 0; j < 2048; j += sub) {
      let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      const qe = q + j + sub;
      for (let u = q + j, c = xp + j; u < qe; u += 32, c += 32) {
        let wv = v128.load(u);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(wv, v128.load32_splat(c)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(wv, v128.load32_splat(c, 4)));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(wv, v128.load32_splat(c, 8)));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(wv, v128.load32_splat(c, 12)));
        wv = v128.load(u, 16);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(wv, v128.load32_splat(c, 16)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(wv, v128.load32_splat(c, 20)));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(wv, v128.load32_splat(c, 24)));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(wv, v128.load32_splat(c, 28)));
      }
      const jj = j / sub; // the sub-block
      if (q6) {
        // Q6_K levels are stored + 32: minus 32 times the sub-block's activation sum
        const o = jj << 2;
        a0 = i32x4.sub(a0, i32x4.splat(load<i32>(bs + o) << 5));
        a1 = i32x4.sub(a1, i32x4.splat(load<i32>(bs + xs + o) << 5));
        a2 = i32x4.sub(a2, i32x4.splat(load<i32>(bs + 2 * xs + o) << 5));
        a3 = i32x4.sub(a3, i32x4.splat(load<i32>(bs + 3 * xs + o) << 5));
      }
      const sc = v128.load(q + 2048 + (jj << 4));
      i0 = i32x4.add(i0, i32x4.mul(a0, sc));
      i1 = i32x4.add(i1, i32x4.mul(a1, sc));
      i2 = i32x4.add(i2, i32x4.mul(a2, sc));
      i3 = i32x4.add(i3, i32x4.mul(a3, sc));
    }
    const db = <usize>b << 2;
    const dx0 = load<f32>(xr + xd + db), dx1 = load<f32>(xr + xs + xd + db), dx2 = load<f32>(xr + 2 * xs + xd + db), dx3 = load<f32>(xr + 3 * xs + xd + db);
    if (q6) {
      const d = v128.load(q, 2304);
      f0 = f32x4.add(f0, f32x4.mul(f32x4.mul(f32x4.splat(dx0), d), f32x4.convert_i32x4_s(i0)));
      f1 = f32x4.add(f1, f32x4.mul(f32x4.mul(f32x4.splat(dx1), d), f32x4.convert_i32x4_s(i1)));
      f2 = f32x4.add(f2, f32x4.mul(f32x4.mul(f32x4.splat(dx2), d), f32x4.convert_i32x4_s(i2)));
      f3 = f32x4.add(f3, f32x4.mul(f32x4.mul(f32x4.splat(dx3), d), f32x4.convert_i32x4_s(i3)));
    } else {
      const d = v128.load(q, 2304), dmin = v128.load(q, 2320);
      f0 = f32x4.add(f0, superAcc(q + 2176, bs, dx0, i0, d, dmin));
      f1 = f32x4.add(f1, superAcc(q + 2176, bs + xs, dx1, i1, d, dmin));
      f2 = f32x4.add(f2, superAcc(q + 2176, bs + 2 * xs, dx2, i2, d, dmin));
      f3 = f32x4.add(f3, superAcc(q + 2176, bs + 3 * xs, dx3, i3, d, dmin));
    }
    q += q6 ? Q6S_WIDE : QKS_WIDE;
    xp += 2048;
  }
  storeRows4(out, t, m, g, f0, f1, f2, f3);
}

/** dx (d isum - dmin sum_j m_j bsum_j) over the four rows: blocksQ45K4's expression;
 *  mq: the m_j over the four rows (i32x4, j = 0..7) */
@inline function superAcc(mq: usize, bs: usize, dx: f32, isum: v128, d: v128, dmin: v128): v128 {
  const lo = pairSums(v128.load(bs), v128.load(bs, 16)), hi = pairSums(v128.load(bs, 32), v128.load(bs, 48));
  // sum_j m_j bsum_j per row: bsum32_j is the same for every row (the activation's)
  let msum = i32x4.mul(v128.load(mq), i32x4.splat(i32x4.extract_lane(lo, 0)));
  msum = i32x4.add(msum, i32x4.mul(v128.load(mq, 16), i32x4.splat(i32x4.extract_lane(lo, 1))));
  msum = i32x4.add(msum, i32x4.mul(v128.load(mq, 32), i32x4.splat(i32x4.extract_lane(lo, 2))));
  msum = i32x4.add(msum, i32x4.mul(v128.load(mq, 48), i32x4.splat(i32x4.extract_lane(lo, 3))));
  msum = i32x4.add(msum, i32x4.mul(v128.load(mq, 64), i32x4.splat(i32x4.extract_lane(hi, 0))));
  msum = i32x4.add(msum, i32x4.mul(v128.load(mq, 80), i32x4.splat(i32x4.extract_lane(hi, 1))));
  msum = i32x4.add(msum, i32x4.mul(v128.load(mq, 96), i32x4.splat(i32x4.extract_lane(hi, 2))));
  msum = i32x4.add(msum, i32x4.mul(v128.load(mq, 112), i32x4.splat(i32x4.extract_lane(hi, 3))));
  return f32x4.mul(f32x4.splat(dx), f32x4.sub(f32x4.mul(d, f32x4.convert_i32x4_s(isum)), f32x4.mul(dmin, f32x4.convert_i32x4_s(msum))));
}

export function mmQ4_K(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void { mmQ45K(false, w, xq, xs, out, m, k, T, g0, g1, scratch); }
export function mmQ5_K(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void { mmQ45K(true, w, xq, xs, out, m, k, T, g0, g1, scratch); }

/** signed 8-bit scales j..j+3 at p as i32x4 */
@inline function sc8(p: usize): v128 { return i32x4.extend_low_i16x8_s(v128.load_ext<i8>(p)); }

/**
 * Relaxed builds: a Q6_K super-block's (dot - 32 bsum) sums in the lanes of an i32x4 (blocksQ6K4
 * reduces four rows' at once). Each sub-block's int16 pair sums are widened by pmaddwd
 * against its own scale broadcast (instead of ones), so the eight sub-blocks of a half add up
 * as they are, scaled, with no horizontal sums and no i32 multiplies; the -32 offset becomes
 * -32 sum_j sc_j bsum_j, one pmaddwd of the half's block sums against its scales. The same
 * integer total as blockQ6K's (|pair sums x scale| <= 2 * 16002 * 128: no overflow).
 */
@inline function subDotsQ6K(p: usize, x8: usize, bs: usize, lo: v128, m30: v128): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return lo; // never called in the SIMD128 build
  let acc = i32x4.splat(0), corr = acc;
  for (let h = 0; h < 2; h++) {
    const ql = p + (<usize>h << 6), qh = p + 128 + (<usize>h << 5);
    const xe8 = x8 + (<usize>h << 7);
    const a0 = v128.load(ql), a1 = v128.load(ql, 16), b0 = v128.load(ql, 32), b1 = v128.load(ql, 48);
    const h0 = v128.load(qh), h1 = v128.load(qh, 16);
    // the half's eight int8 scales as int16, then each broadcast
    const sv = i16x8.extend_low_i8x16_s(v128.load64_zero(p + 192 + (<usize>h << 3)));
    acc = i32x4.add(acc, scaledDot(v128.or(v128.and(a0, lo), moveBits(h0, 0, 4, m30)), xe8, i16x8.shuffle(sv, sv, 0, 0, 0, 0, 0, 0, 0, 0)));
    acc = i32x4.add(acc, scaledDot(v128.or(v128.and(a1, lo), moveBits(h1, 0, 4, m30)), xe8 + 16, i16x8.shuffle(sv, sv, 1, 1, 1, 1, 1, 1, 1, 1)));
    acc = i32x4.add(acc, scaledDot(v128.or(v128.and(b0, lo), moveBits(h0, 2, 4, m30)), xe8 + 32, i16x8.shuffle(sv, sv, 2, 2, 2, 2, 2, 2, 2, 2)));
    acc = i32x4.add(acc, scaledDot(v128.or(v128.and(b1, lo), moveBits(h1, 2, 4, m30)), xe8 + 48, i16x8.shuffle(sv, sv, 3, 3, 3, 3, 3, 3, 3, 3)));
    acc = i32x4.add(acc, scaledDot(v128.or(hiNibbles(a0, lo), moveBits(h0, 4, 4, m30)), xe8 + 64, i16x8.shuffle(sv, sv, 4, 4, 4, 4, 4, 4, 4, 4)));
    acc = i32x4.add(acc, scaledDot(v128.or(hiNibbles(a1, lo), moveBits(h1, 4, 4, m30)), xe8 + 80, i16x8.shuffle(sv, sv, 5, 5, 5, 5, 5, 5, 5, 5)));
    acc = i32x4.add(acc, scaledDot(v128.or(hiNibbles(b0, lo), moveBits(h0, 6, 4, m30)), xe8 + 96, i16x8.shuffle(sv, sv, 6, 6, 6, 6, 6, 6, 6, 6)));
    acc = i32x4.add(acc, scaledDot(v128.or(hiNibbles(b1, lo), moveBits(h1, 6, 4, m30)), xe8 + 112, i16x8.shuffle(sv, sv, 7, 7, 7, 7, 7, 7, 7, 7)));
    // sum_j sc_j bsum_j over the half (|bsum_j| <= 16 * 127: int16)
    const bh = bs + (<usize>h << 5);
    corr = i32x4.add(corr, i32x4.dot_i16x8_s(i16x8.narrow_i32x4_s(v128.load(bh), v128.load(bh, 16)), sv));
  }
  return i32x4.sub(acc, i32x4.shl(corr, 5));
}

/**
 * Relaxed builds, decode: Q6_K super-block b of the group's four rows (at p, bb bytes apart)
 * against one activation row, added to acc lane by lane: dx d isum per row, the four rows'
 * sums reduced at once (hadd4i) and their d converted as one vector (blockQ6K does this per
 * row; the same operations per lane, so the same bits).
 */
@inline function blocksQ6K4(p: usize, bb: usize, x8: usize, dx: f32, bs: usize, lo: v128, m30: v128, acc: v128): v128 {
  const isum = hadd4i(subDotsQ6K(p, x8, bs, lo, m30), subDotsQ6K(p + bb, x8, bs, lo, m30), subDotsQ6K(p + 2 * bb, x8, bs, lo, m30), subDotsQ6K(p + 3 * bb, x8, bs, lo, m30));
  const dh = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(<i32>load<i16>(p, 208)), 1, <i32>load<i16>(p + bb, 208)), 2, <i32>load<i16>(p + 2 * bb, 208)), 3, <i32>load<i16>(p + 3 * bb, 208));
  return f32x4.add(acc, f32x4.mul(f32x4.mul(f32x4.splat(dx), f16x4x(dh)), f32x4.convert_i32x4_s(isum)));
}

/** relaxed build: the 16 unsigned levels w (< 128) against 16 int8 activations at x8, the pair
 *  sums widened by pmaddwd against the sub-block's scale broadcast to all lanes (s) */
@inline function scaledDot(w: v128, x8: usize, s: v128): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return s; // never called in the SIMD128 build
  return i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(x8), w), s);
}

/**
 * One Q6_K super-block (ggml block_q6_K: ql[128] qh[64] scales[16] d) against activations.
 * Half h (elements 128h..128h+127) uses ql[64h..], qh[32h..]; for l in 0..31:
 *   element 128h+l     = ql[l]    low  | (qh[l]     & 3) << 4
 *   element 128h+32+l  = ql[l+32] low  | (qh[l]>>2  & 3) << 4
 *   element 128h+64+l  = ql[l]    high | (qh[l]>>4  & 3) << 4
 *   element 128h+96+l  = ql[l+32] high | (qh[l]>>6  & 3) << 4
 * Each 16-lane vector is exactly one 16-element sub-block (scale index element >> 4).
 */
@inline function blockQ6K(p: usize, x8: usize, x16: usize, dx: f32, bs: usize, ones: v128, lo: v128, m30: v128): f32 {
  if (ASC_FEATURE_RELAXED_SIMD) return 0; // the relaxed builds take blocksQ6K4
  let isum = i32x4.splat(0);
  for (let h = 0; h < 2; h++) {
    const ql = p + (<usize>h << 6), qh = p + 128 + (<usize>h << 5);
    const xe8 = x8 + (<usize>h << 7), xe16 = x16 + (<usize>h << 8);
    const a0 = v128.load(ql), a1 = v128.load(ql, 16), b0 = v128.load(ql, 32), b1 = v128.load(ql, 48);
    const h0 = v128.load(qh), h1 = v128.load(qh, 16);
    // sub-blocks of this half, in element order: (l 0..15), (16..31) for each of the 4 groups;
    // lo = byteMask(.., 0x0f), m30 = byteMask(.., 0x30): the two high bits moved to bits 4, 5
    const s0 = dotU16(v128.or(v128.and(a0, lo), moveBits(h0, 0, 4, m30)), xe8, xe16, ones);
    const s1 = dotU16(v128.or(v128.and(a1, lo), moveBits(h1, 0, 4, m30)), xe8 + 16, xe16 + 32, ones);
    const s2 = dotU16(v128.or(v128.and(b0, lo), moveBits(h0, 2, 4, m30)), xe8 + 32, xe16 + 64, ones);
    const s3 = dotU16(v128.or(v128.and(b1, lo), moveBits(h1, 2, 4, m30)), xe8 + 48, xe16 + 96, ones);
    const s4 = dotU16(v128.or(hiNibbles(a0, lo), moveBits(h0, 4, 4, m30)), xe8 + 64, xe16 + 128, ones);
    const s5 = dotU16(v128.or(hiNibbles(a1, lo), moveBits(h1, 4, 4, m30)), xe8 + 80, xe16 + 160, ones);
    const s6 = dotU16(v128.or(hiNibbles(b0, lo), moveBits(h0, 6, 4, m30)), xe8 + 96, xe16 + 192, ones);
    const s7 = dotU16(v128.or(hiNibbles(b1, lo), moveBits(h1, 6, 4, m30)), xe8 + 112, xe16 + 224, ones);
    const sc = p + 192 + (<usize>h << 3);
    const bh = bs + (<usize>h << 5);
    // sum_j sc_j (dot_j - 32 bsum_j) for the 8 sub-blocks of this half
    const t0 = i32x4.sub(hadd4i(s0, s1, s2, s3), i32x4.shl(v128.load(bh), 5));
    const t1 = i32x4.sub(hadd4i(s4, s5, s6, s7), i32x4.shl(v128.load(bh, 16), 5));
    isum = i32x4.add(isum, i32x4.add(i32x4.mul(t0, sc8(sc)), i32x4.mul(t1, sc8(sc + 4))));
  }
  return dx * f16(load<u16>(p, 208)) * <f32>hsumi(isum);
}

/**
 * Relaxed build, prefill of Q6_K, as widenQ45K for Q4_K: each group's super-blocks unpacked once
 * per token tile, Q6_WIDE bytes per super-block:
 *   [sub-block j = 0..15][vector v = 0..3] 16 bytes: columns 4v..4v+3 of sub-block j of rows
 *     0..3 as levels 0..63 (the i7 operand of relaxed_dot)                     1024 bytes
 *   sc_j over the four rows (i32x4), j = 0..15                                  256
 *   d over the four rows (f32x4)                                                16
 * Per sub-block and activation row two pairs of relaxed dots are summed in int16 (|sum| <=
 * 2 * 2 * 63 * 127 = 32004), then widened; the integer sums and the float expression are
 * blockQ6K's, so results are the same bit for bit.
 */
const Q6_WIDE: usize = 1296;

@inline function widenQ6K(gp: usize, nb: i32, s: usize): void { widenQ6(false, gp, nb, s); }

/**
 * The two builds' Q6_K group widening: the levels of each 16-element sub-block of the four rows
 * (as blockQ6K builds them), as 4 x 4 tiles (pairs = false: widenQ6K, Q6_WIDE per super-block) or
 * int16 column pairs (pairs = true: widenQ6Ks, Q6S_WIDE), then sc_j and d over the rows
 */
@inline function widenQ6(pairs: bool, gp: usize, nb: i32, s: usize): void {
  const lo = byteMask(nb, 0x0f), three = byteMask(nb, 3);
  const so: usize = pairs ? 2048 : 1024; // where the scales go
  let p = gp, q = s;
  for (let b = 0; b < nb; b++) {
    for (let h: usize = 0; h < 2; h++) {
      for (let i: usize = 0; i < 8; i++) {
        const v0 = q6Levels(p, h, i, lo, three), v1 = q6Levels(p + 210, h, i, lo, three);
        const v2 = q6Levels(p + 420, h, i, lo, three), v3 = q6Levels(p + 630, h, i, lo, three);
        if (pairs) widenHalf(v0, v1, v2, v3, q + (((h << 3) + i) << 7));
        else transposeStore(v0, v1, v2, v3, q + (((h << 3) + i) << 6));
      }
    }
    const r0 = p, r1 = p + 210, r2 = p + 420, r3 = p + 630;
    for (let i: usize = 0; i < 4; i++) transposeStore(sc8(r0 + 192 + (i << 2)), sc8(r1 + 192 + (i << 2)), sc8(r2 + 192 + (i << 2)), sc8(r3 + 192 + (i << 2)), q + so + (i << 6));
    v128.store(q + so + 256, vec4(f16(load<u16>(r0, 208)), f16(load<u16>(r1, 208)), f16(load<u16>(r2, 208)), f16(load<u16>(r3, 208))));
    p += 840;
    q += pairs ? Q6S_WIDE : Q6_WIDE;
  }
}

/** the 16 levels of sub-block i (0..7) of half h of the Q6_K block at p (blockQ6K's s_i) */
@inline function q6Levels(p: usize, h: usize, i: usize, lo: v128, three: v128): v128 {
  const ql = p + (h << 6), qh = p + 128 + (h << 5);
  // i: 0 a0 low, 1 a1 low, 2 b0 low, 3 b1 low, 4 a0 high, 5 a1 high, 6 b0 high, 7 b1 high
  const q = v128.load(ql + ((i & 3) << 4));
  const hb = v128.load(qh + ((i & 1) << 4));
  const l = i < 4 ? v128.and(q, lo) : hiNibbles(q, lo);
  const shift = <u32>((i >> 1) << 1); // 0, 0, 2, 2, 4, 4, 6, 6
  // 16-bit shifts (common.ts moveBits): the mask keeps bits 0, 1 of each byte, and a byte of
  // 0..3 shifted left by 4 stays in its byte
  return v128.or(l, i16x8.shl(v128.and(i16x8.shr_u(hb, shift), three), 4));
}

/** four activation rows (Q8K, stride xs) against a group unpacked by widenQ6K at s */
@inline function rowsQ6K4(s: usize, xr: usize, xs: usize, k: i32, nb: i32, ones: v128, out: usize, t: i32, m: i32, g: i32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return; // never called in the SIMD128 build
  const xd = 3 * <usize>k, bso = xd + (<usize>nb << 2);
  let f0 = f32x4.splat(0), f1 = f0, f2 = f0, f3 = f0;
  let q = s;
  for (let b = 0; b < nb; b++) {
    // activations through four row pointers: packed as for Q4_K (packRowsQ8K) this kernel ran
    // 5 % slower (bench/ab-kernels.ts)
    const x0 = xr + (<usize>b << 8), x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
    const bs = xr + bso + (<usize>b << 6);
    let i0 = i32x4.splat(0), i1 = i0, i2 = i0, i3 = i0;
    for (let j: usize = 0; j < 16; j++) {
      const u = q + (j << 6), c = j << 4;
      const w0 = v128.load(u), w1 = v128.load(u, 16), w2 = v128.load(u, 32), w3 = v128.load(u, 48);
      const sc = v128.load(q + 1024 + (j << 4));
      i0 = i32x4.add(i0, i32x4.mul(q6Dot(x0 + c, w0, w1, w2, w3, ones, load<i32>(bs + (j << 2))), sc));
      i1 = i32x4.add(i1, i32x4.mul(q6Dot(x1 + c, w0, w1, w2, w3, ones, load<i32>(bs + xs + (j << 2))), sc));
      i2 = i32x4.add(i2, i32x4.mul(q6Dot(x2 + c, w0, w1, w2, w3, ones, load<i32>(bs + 2 * xs + (j << 2))), sc));
      i3 = i32x4.add(i3, i32x4.mul(q6Dot(x3 + c, w0, w1, w2, w3, ones, load<i32>(bs + 3 * xs + (j << 2))), sc));
    }
    const d = v128.load(q, 1280), db = <usize>b << 2;
    f0 = f32x4.add(f0, f32x4.mul(f32x4.mul(f32x4.splat(load<f32>(xr + xd + db)), d), f32x4.convert_i32x4_s(i0)));
    f1 = f32x4.add(f1, f32x4.mul(f32x4.mul(f32x4.splat(load<f32>(xr + xs + xd + db)), d), f32x4.convert_i32x4_s(i1)));
    f2 = f32x4.add(f2, f32x4.mul(f32x4.mul(f32x4.splat(load<f32>(xr + 2 * xs + xd + db)), d), f32x4.convert_i32x4_s(i2)));
    f3 = f32x4.add(f3, f32x4.mul(f32x4.mul(f32x4.splat(load<f32>(xr + 3 * xs + xd + db)), d), f32x4.convert_i32x4_s(i3)));
    q += Q6_WIDE;
  }
  storeRows4(out, t, m, g, f0, f1, f2, f3);
}

/**
 * SIMD128 build, prefill of Q6_K, as widenQ45Ks for Q4_K: each group's super-blocks widened once
 * per token tile, Q6S_WIDE bytes per super-block:
 *   [sub-block j = 0..15][pair c = 0..7] 16 bytes: columns 2c, 2c+1 of sub-block j of rows 0..3
 *     as int16 levels 0..63 (matmul-q.ts widenHalf)                             2048 bytes
 *   sc_j over the four rows (i32x4), j = 0..15                                  256
 *   d over the four rows (f32x4)                                                16
 * Four activation rows at a time (packRowsQ8Ks) by pmaddwd against broadcast column pairs; per
 * sub-block the dots minus 32 bsum_j, times sc_j: blockQ6K's integer sums and float expression,
 * so results are the same bit for bit.
 */
const Q6S_WIDE: usize = 2320;

@inline function widenQ6Ks(gp: usize, nb: i32, s: usize): void { widenQ6(true, gp, nb, s); }

/** the four rows' (dot - 32 bsum) of one 16-column sub-block: activations at x, unpacked w0..w3 */
@inline function q6Dot(x: usize, w0: v128, w1: v128, w2: v128, w3: v128, ones: v128, bsum: i32): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return ones; // never called in the SIMD128 build
  if (GEMMA_DOT_ADD) {
    // dot-add build: the four products of each lane straight into i32, the offset as the start
    let a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x), w0, i32x4.splat(-(bsum << 5)));
    a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x, 4), w1, a);
    a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x, 8), w2, a);
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x, 12), w3, a);
  }
  const a = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x), w0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x, 4), w1));
  const b = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x, 8), w2), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x, 12), w3));
  return i32x4.sub(i32x4.add(i32x4.dot_i16x8_s(a, ones), i32x4.dot_i16x8_s(b, ones)), i32x4.splat(bsum << 5));
}

/** one activation row against a group unpacked by widenQ6K (the rows left over by rowsQ6K4) */
@inline function rowQ6K1(s: usize, xr: usize, k: i32, nb: i32, ones: v128): v128 {
  const xd = 3 * <usize>k, bso = xd + (<usize>nb << 2);
  let f = f32x4.splat(0);
  let q = s;
  for (let b = 0; b < nb; b++) {
    const x0 = xr + (<usize>b << 8), bs = xr + bso + (<usize>b << 6);
    let i0 = i32x4.splat(0);
    for (let j: usize = 0; j < 16; j++) {
      const u = q + (j << 6);
      i0 = i32x4.add(i0, i32x4.mul(q6Dot(x0 + (j << 4), v128.load(u), v128.load(u, 16), v128.load(u, 32), v128.load(u, 48), ones, load<i32>(bs + (j << 2))), v128.load(q + 1024 + (j << 4))));
    }
    f = f32x4.add(f, f32x4.mul(f32x4.mul(f32x4.splat(load<f32>(xr + xd + (<usize>b << 2))), v128.load(q, 1280)), f32x4.convert_i32x4_s(i0)));
    q += Q6_WIDE;
  }
  return f;
}

export function mmQ6_K(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void {
  const bb: usize = 210;
  const nb = k >> 8;
  const gs = <usize>nb * (bb << 2);
  const ones = onesI16(nb), lo = byteMask(nb, 0x0f), m30 = byteMask(nb, 0x30); // see common.ts dotQ8r, byteMask
  // prefill in the relaxed build with scratch: unpacked groups (widenQ6K); in the SIMD128 build:
  // int16-widened groups (widenQ6Ks) and activation rows packed four at a time after them
  const wide = ASC_FEATURE_RELAXED_SIMD && T >= 2 && scratch != 0;
  const wideS = !ASC_FEATURE_RELAXED_SIMD && T >= 4 && scratch != 0;
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by
  const tt = tokenTile(xs);
  const pk = scratch + Q6S_WIDE * <usize>nb, pstep = <usize>nb << 11;
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    if (wideS) for (let t = t0; t + 4 <= t1; t += 4) packRowsQ8Ks(xq + <usize>t * <usize>xs, <usize>xs, k, nb, pk + <usize>((t - t0) >> 2) * pstep);
    for (let g = g0; g < g1; g++) {
      const gp = w + <usize>g * gs;
      if (wide && t1 - t0 >= 2) {
        widenQ6K(gp, nb, scratch);
        let t = t0;
        for (; t + 4 <= t1; t += 4) rowsQ6K4(scratch, xq + <usize>t * <usize>xs, <usize>xs, k, nb, ones, out, t, m, g);
        for (; t < t1; t++) storeRows(out, t, m, g, rowQ6K1(scratch, xq + <usize>t * <usize>xs, k, nb, ones));
        continue;
      }
      let ts = t0;
      if (wideS && t1 - t0 >= 4) {
        widenQ6Ks(gp, nb, scratch);
        for (; ts + 4 <= t1; ts += 4) rowsKs4(true, scratch, pk + <usize>((ts - t0) >> 2) * pstep, xq + <usize>ts * <usize>xs, <usize>xs, k, nb, out, ts, m, g);
        // leftover rows: the decode kernel below (the same sums and rounding)
      }
      for (let t = ts; t < t1; t++) {
        const xr = xq + <usize>t * <usize>xs;
        const x16r = xr + <usize>k, xd = xr + 3 * <usize>k, bsr = xd + (<usize>nb << 2);
        let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
        let p = gp;
        if (ASC_FEATURE_RELAXED_SIMD) {
          let acc = f32x4.splat(0);
          for (let b = 0; b < nb; b++) {
            acc = blocksQ6K4(p, bb, xr + (<usize>b << 8), load<f32>(xd + (<usize>b << 2)), bsr + (<usize>b << 6), lo, m30, acc);
            p += bb << 2;
          }
          storeRows(out, t, m, g, acc);
          continue;
        }
        for (let b = 0; b < nb; b++) {
          const x8 = xr + (<usize>b << 8), x16 = x16r + (<usize>b << 9);
          const dx = load<f32>(xd + (<usize>b << 2));
          const bs = bsr + (<usize>b << 6);
          a0 += blockQ6K(p, x8, x16, dx, bs, ones, lo, m30);
          a1 += blockQ6K(p + bb, x8, x16, dx, bs, ones, lo, m30);
          a2 += blockQ6K(p + 2 * bb, x8, x16, dx, bs, ones, lo, m30);
          a3 += blockQ6K(p + 3 * bb, x8, x16, dx, bs, ones, lo, m30);
          p += bb << 2;
        }
        storeRows(out, t, m, g, vec4(a0, a1, a2, a3));
      }
    }
  }
}
