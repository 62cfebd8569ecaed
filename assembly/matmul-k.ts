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

import { dotU16, dotU32, f16, hadd4i, hsumi, onesI16, vec4 } from './common';
import { storeRows, tokenTile } from './matmul-q';

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

/** one Q4_K (q5 = false) or Q5_K (q5 = true) super-block at p against activations:
 *  x8/x16 at this super-block, dx its scale, bs32lo/hi its per-32 sums */
@inline function blockQ45K(q5: bool, p: usize, x8: usize, x16: usize, dx: f32, bs32lo: v128, bs32hi: v128, ones: v128): f32 {
  const u0 = load<u32>(p, 4), u1 = load<u32>(p, 8), u2 = load<u32>(p, 12);
  const qs = p + (q5 ? 48 : 16);
  let d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, d6: v128, d7: v128;
  const lo = i8x16.splat(0x0f);
  // chunk c holds sub-blocks 2c (low nibbles) and 2c+1 (high nibbles) of 32 bytes
  if (!q5) {
    let a = v128.load(qs), b = v128.load(qs, 16);
    d0 = dotU32(v128.and(a, lo), v128.and(b, lo), x8, x16, ones);
    d1 = dotU32(i8x16.shr_u(a, 4), i8x16.shr_u(b, 4), x8 + 32, x16 + 64, ones);
    a = v128.load(qs, 32); b = v128.load(qs, 48);
    d2 = dotU32(v128.and(a, lo), v128.and(b, lo), x8 + 64, x16 + 128, ones);
    d3 = dotU32(i8x16.shr_u(a, 4), i8x16.shr_u(b, 4), x8 + 96, x16 + 192, ones);
    a = v128.load(qs, 64); b = v128.load(qs, 80);
    d4 = dotU32(v128.and(a, lo), v128.and(b, lo), x8 + 128, x16 + 256, ones);
    d5 = dotU32(i8x16.shr_u(a, 4), i8x16.shr_u(b, 4), x8 + 160, x16 + 320, ones);
    a = v128.load(qs, 96); b = v128.load(qs, 112);
    d6 = dotU32(v128.and(a, lo), v128.and(b, lo), x8 + 192, x16 + 384, ones);
    d7 = dotU32(i8x16.shr_u(a, 4), i8x16.shr_u(b, 4), x8 + 224, x16 + 448, ones);
  } else {
    // fifth bit of element 64c+l: bit 2c of qh[l]; of element 64c+32+l: bit 2c+1
    const ha = v128.load(p, 16), hb = v128.load(p, 32);
    const one = i8x16.splat(1);
    let a = v128.load(qs), b = v128.load(qs, 16);
    d0 = dotU32(v128.or(v128.and(a, lo), i8x16.shl(v128.and(ha, one), 4)), v128.or(v128.and(b, lo), i8x16.shl(v128.and(hb, one), 4)), x8, x16, ones);
    d1 = dotU32(v128.or(i8x16.shr_u(a, 4), i8x16.shl(v128.and(i8x16.shr_u(ha, 1), one), 4)), v128.or(i8x16.shr_u(b, 4), i8x16.shl(v128.and(i8x16.shr_u(hb, 1), one), 4)), x8 + 32, x16 + 64, ones);
    a = v128.load(qs, 32); b = v128.load(qs, 48);
    d2 = dotU32(v128.or(v128.and(a, lo), i8x16.shl(v128.and(i8x16.shr_u(ha, 2), one), 4)), v128.or(v128.and(b, lo), i8x16.shl(v128.and(i8x16.shr_u(hb, 2), one), 4)), x8 + 64, x16 + 128, ones);
    d3 = dotU32(v128.or(i8x16.shr_u(a, 4), i8x16.shl(v128.and(i8x16.shr_u(ha, 3), one), 4)), v128.or(i8x16.shr_u(b, 4), i8x16.shl(v128.and(i8x16.shr_u(hb, 3), one), 4)), x8 + 96, x16 + 192, ones);
    a = v128.load(qs, 64); b = v128.load(qs, 80);
    d4 = dotU32(v128.or(v128.and(a, lo), i8x16.shl(v128.and(i8x16.shr_u(ha, 4), one), 4)), v128.or(v128.and(b, lo), i8x16.shl(v128.and(i8x16.shr_u(hb, 4), one), 4)), x8 + 128, x16 + 256, ones);
    d5 = dotU32(v128.or(i8x16.shr_u(a, 4), i8x16.shl(v128.and(i8x16.shr_u(ha, 5), one), 4)), v128.or(i8x16.shr_u(b, 4), i8x16.shl(v128.and(i8x16.shr_u(hb, 5), one), 4)), x8 + 160, x16 + 320, ones);
    a = v128.load(qs, 96); b = v128.load(qs, 112);
    d6 = dotU32(v128.or(v128.and(a, lo), i8x16.shl(v128.and(i8x16.shr_u(ha, 6), one), 4)), v128.or(v128.and(b, lo), i8x16.shl(v128.and(i8x16.shr_u(hb, 6), one), 4)), x8 + 192, x16 + 384, ones);
    d7 = dotU32(v128.or(i8x16.shr_u(a, 4), i8x16.shl(i8x16.shr_u(ha, 7), 4)), v128.or(i8x16.shr_u(b, 4), i8x16.shl(i8x16.shr_u(hb, 7), 4)), x8 + 224, x16 + 448, ones);
  }
  const isum = i32x4.add(i32x4.mul(hadd4i(d0, d1, d2, d3), scLo(u0)), i32x4.mul(hadd4i(d4, d5, d6, d7), scHi(u0, u2)));
  const msum = i32x4.add(i32x4.mul(bs32lo, mLo(u1)), i32x4.mul(bs32hi, mHi(u1, u2)));
  const d = f16(load<u16>(p)), dmin = f16(load<u16>(p, 2));
  return dx * (d * <f32>hsumi(isum) - dmin * <f32>hsumi(msum));
}

@inline function mmQ45K(q5: bool, w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void {
  const bb: usize = q5 ? 176 : 144;
  const nb = k >> 8;
  const gs = <usize>nb * (bb << 2);
  const ones = onesI16(nb); // see common.ts dotQ8r
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by
  const tt = tokenTile(xs);
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    for (let g = g0; g < g1; g++) {
      const gp = w + <usize>g * gs;
      for (let t = t0; t < t1; t++) {
        const xr = xq + <usize>t * <usize>xs;
        const x16r = xr + <usize>k, xd = xr + 3 * <usize>k, bsr = xd + (<usize>nb << 2);
        let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
        let p = gp;
        for (let b = 0; b < nb; b++) {
          const x8 = xr + (<usize>b << 8), x16 = x16r + (<usize>b << 9);
          const dx = load<f32>(xd + (<usize>b << 2));
          const bs = bsr + (<usize>b << 6);
          const lo = pairSums(v128.load(bs), v128.load(bs, 16)), hi = pairSums(v128.load(bs, 32), v128.load(bs, 48));
          a0 += blockQ45K(q5, p, x8, x16, dx, lo, hi, ones);
          a1 += blockQ45K(q5, p + bb, x8, x16, dx, lo, hi, ones);
          a2 += blockQ45K(q5, p + 2 * bb, x8, x16, dx, lo, hi, ones);
          a3 += blockQ45K(q5, p + 3 * bb, x8, x16, dx, lo, hi, ones);
          p += bb << 2;
        }
        storeRows(out, t, m, g, vec4(a0, a1, a2, a3));
      }
    }
  }
}

export function mmQ4_K(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45K(false, w, xq, xs, out, m, k, T, g0, g1); }
export function mmQ5_K(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmQ45K(true, w, xq, xs, out, m, k, T, g0, g1); }

/** signed 8-bit scales j..j+3 at p as i32x4 */
@inline function sc8(p: usize): v128 { return i32x4.extend_low_i16x8_s(v128.load_ext<i8>(p)); }

/**
 * One Q6_K super-block (ggml block_q6_K: ql[128] qh[64] scales[16] d) against activations.
 * Half h (elements 128h..128h+127) uses ql[64h..], qh[32h..]; for l in 0..31:
 *   element 128h+l     = ql[l]    low  | (qh[l]     & 3) << 4
 *   element 128h+32+l  = ql[l+32] low  | (qh[l]>>2  & 3) << 4
 *   element 128h+64+l  = ql[l]    high | (qh[l]>>4  & 3) << 4
 *   element 128h+96+l  = ql[l+32] high | (qh[l]>>6  & 3) << 4
 * Each 16-lane vector is exactly one 16-element sub-block (scale index element >> 4).
 */
@inline function blockQ6K(p: usize, x8: usize, x16: usize, dx: f32, bs: usize, ones: v128): f32 {
  const lo = i8x16.splat(0x0f), three = i8x16.splat(3);
  let isum = i32x4.splat(0);
  for (let h = 0; h < 2; h++) {
    const ql = p + (<usize>h << 6), qh = p + 128 + (<usize>h << 5);
    const xe8 = x8 + (<usize>h << 7), xe16 = x16 + (<usize>h << 8);
    const a0 = v128.load(ql), a1 = v128.load(ql, 16), b0 = v128.load(ql, 32), b1 = v128.load(ql, 48);
    const h0 = v128.load(qh), h1 = v128.load(qh, 16);
    // sub-blocks of this half, in element order: (l 0..15), (16..31) for each of the 4 groups
    const s0 = dotU16(v128.or(v128.and(a0, lo), i8x16.shl(v128.and(h0, three), 4)), xe8, xe16, ones);
    const s1 = dotU16(v128.or(v128.and(a1, lo), i8x16.shl(v128.and(h1, three), 4)), xe8 + 16, xe16 + 32, ones);
    const s2 = dotU16(v128.or(v128.and(b0, lo), i8x16.shl(v128.and(i8x16.shr_u(h0, 2), three), 4)), xe8 + 32, xe16 + 64, ones);
    const s3 = dotU16(v128.or(v128.and(b1, lo), i8x16.shl(v128.and(i8x16.shr_u(h1, 2), three), 4)), xe8 + 48, xe16 + 96, ones);
    const s4 = dotU16(v128.or(i8x16.shr_u(a0, 4), i8x16.shl(v128.and(i8x16.shr_u(h0, 4), three), 4)), xe8 + 64, xe16 + 128, ones);
    const s5 = dotU16(v128.or(i8x16.shr_u(a1, 4), i8x16.shl(v128.and(i8x16.shr_u(h1, 4), three), 4)), xe8 + 80, xe16 + 160, ones);
    const s6 = dotU16(v128.or(i8x16.shr_u(b0, 4), i8x16.shl(i8x16.shr_u(h0, 6), 4)), xe8 + 96, xe16 + 192, ones);
    const s7 = dotU16(v128.or(i8x16.shr_u(b1, 4), i8x16.shl(i8x16.shr_u(h1, 6), 4)), xe8 + 112, xe16 + 224, ones);
    const sc = p + 192 + (<usize>h << 3);
    const bh = bs + (<usize>h << 5);
    // sum_j sc_j (dot_j - 32 bsum_j) for the 8 sub-blocks of this half
    const t0 = i32x4.sub(hadd4i(s0, s1, s2, s3), i32x4.shl(v128.load(bh), 5));
    const t1 = i32x4.sub(hadd4i(s4, s5, s6, s7), i32x4.shl(v128.load(bh, 16), 5));
    isum = i32x4.add(isum, i32x4.add(i32x4.mul(t0, sc8(sc)), i32x4.mul(t1, sc8(sc + 4))));
  }
  return dx * f16(load<u16>(p, 208)) * <f32>hsumi(isum);
}

export function mmQ6_K(w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void {
  const bb: usize = 210;
  const nb = k >> 8;
  const gs = <usize>nb * (bb << 2);
  const ones = onesI16(nb); // see common.ts dotQ8r
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by
  const tt = tokenTile(xs);
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    for (let g = g0; g < g1; g++) {
      const gp = w + <usize>g * gs;
      for (let t = t0; t < t1; t++) {
        const xr = xq + <usize>t * <usize>xs;
        const x16r = xr + <usize>k, xd = xr + 3 * <usize>k, bsr = xd + (<usize>nb << 2);
        let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
        let p = gp;
        for (let b = 0; b < nb; b++) {
          const x8 = xr + (<usize>b << 8), x16 = x16r + (<usize>b << 9);
          const dx = load<f32>(xd + (<usize>b << 2));
          const bs = bsr + (<usize>b << 6);
          a0 += blockQ6K(p, x8, x16, dx, bs, ones);
          a1 += blockQ6K(p + bb, x8, x16, dx, bs, ones);
          a2 += blockQ6K(p + 2 * bb, x8, x16, dx, bs, ones);
          a3 += blockQ6K(p + 3 * bb, x8, x16, dx, bs, ones);
          p += bb << 2;
        }
        storeRows(out, t, m, g, vec4(a0, a1, a2, a3));
      }
    }
  }
}
