// Matrix-vector / matrix-matrix products for float weights (F32, F16, BF16) with f32
// activations and f32 accumulation (no activation rounding: exact products of the
// stored weights).
//
// Weight layout ("x4", repack.ts): rows four at a time; each row is cut into chunks of 8
// elements and chunk c of the four rows is stored back to back (4 x 8 elements); the
// k % 8 tail elements of the four rows follow at the end (4 x tail). One stream per thread.
//
// F16 -> f32 conversion is exact for normal and subnormal values (common.ts); BF16 -> f32
// is a 16-bit shift.

import { f16, f16Bias, f16Mask, f16x4s, fma, hadd4f, vec4 } from './common';
import { storeRows, tokenTile } from './matmul-q';

/** elements 0..3 of the 8-element chunk at p as f32x4 (fm, fb: common.ts f16x4s) */
@inline function lo4(dt: i32, p: usize, fm: v128, fb: v128): v128 {
  if (dt == 0) return v128.load(p);
  if (dt == 1) return f16x4s(v128.load_ext<i16>(p), fm, fb);
  // bf16: the 16 bits are the top half of the f32: interleave with zeros (punpcklwd)
  return i16x8.shuffle(i16x8.splat(0), v128.load(p), 0, 8, 1, 9, 2, 10, 3, 11);
}

/** elements 4..7 of the chunk */
@inline function hi4(dt: i32, p: usize, fm: v128, fb: v128): v128 {
  if (dt == 0) return v128.load(p, 16);
  if (dt == 1) return f16x4s(v128.load_ext<i16>(p, 8), fm, fb);
  return i16x8.shuffle(i16x8.splat(0), v128.load(p), 4, 12, 5, 13, 6, 14, 7, 15);
}

@inline function scalarAt(dt: i32, p: usize): f32 {
  if (dt == 0) return load<f32>(p);
  if (dt == 1) return f16(load<u16>(p));
  return reinterpret<f32>(<u32>load<u16>(p) << 16);
}

/** the k % 8 tail of the four rows (scalar), as (row0..row3) sums */
@inline function tailDots(dt: i32, p: usize, xt: usize, tail: i32): v128 {
  const es: usize = dt == 0 ? 4 : 2;
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  const ts = <usize>tail * es;
  for (let i = 0; i < tail; i++) {
    const xv = load<f32>(xt + (<usize>i << 2));
    const q = p + <usize>i * es;
    s0 += scalarAt(dt, q) * xv;
    s1 += scalarAt(dt, q + ts) * xv;
    s2 += scalarAt(dt, q + 2 * ts) * xv;
    s3 += scalarAt(dt, q + 3 * ts) * xv;
  }
  return vec4(s0, s1, s2, s3);
}

/**
 * Activation rows go two at a time (prefill): each weight chunk is converted once for both.
 * Per row and activation row one f32x4 accumulator (8 for a pair of rows), reduced at the end.
 */
@inline function mmFloat(dt: i32, w: usize, x: usize, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void {
  const es: usize = dt == 0 ? 4 : 2;
  const nc = k >> 3, tail = k & 7;
  const cs: usize = es << 5; // bytes of one chunk unit (4 rows x 8 elements)
  const rs: usize = es << 3; // bytes of one row's chunk
  const gs = <usize>k * (es << 2);
  const xrow = <usize>k << 2;
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by
  const tt = tokenTile(k << 2);
  const fm = f16Mask(tt), fb = f16Bias(tt);
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    for (let g = g0; g < g1; g++) {
      const gp = w + <usize>g * gs;
      let t = t0;
      for (; t + 2 <= t1; t += 2) {
        const xa = x + <usize>t * xrow, xb = xa + xrow;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        let p = gp;
        for (let c = 0; c < nc; c++) {
          const o = <usize>c << 5;
          const xa0 = v128.load(xa + o), xa1 = v128.load(xa + o, 16), xb0 = v128.load(xb + o), xb1 = v128.load(xb + o, 16);
          let l = lo4(dt, p, fm, fb), h = hi4(dt, p, fm, fb);
          a0 = fma(l, xa0, fma(h, xa1, a0)); b0 = fma(l, xb0, fma(h, xb1, b0));
          l = lo4(dt, p + rs, fm, fb); h = hi4(dt, p + rs, fm, fb);
          a1 = fma(l, xa0, fma(h, xa1, a1)); b1 = fma(l, xb0, fma(h, xb1, b1));
          l = lo4(dt, p + 2 * rs, fm, fb); h = hi4(dt, p + 2 * rs, fm, fb);
          a2 = fma(l, xa0, fma(h, xa1, a2)); b2 = fma(l, xb0, fma(h, xb1, b2));
          l = lo4(dt, p + 3 * rs, fm, fb); h = hi4(dt, p + 3 * rs, fm, fb);
          a3 = fma(l, xa0, fma(h, xa1, a3)); b3 = fma(l, xb0, fma(h, xb1, b3));
          p += cs;
        }
        let ra = hadd4f(a0, a1, a2, a3), rb = hadd4f(b0, b1, b2, b3);
        if (tail) {
          const xo = <usize>(nc << 3) << 2;
          ra = f32x4.add(ra, tailDots(dt, p, xa + xo, tail));
          rb = f32x4.add(rb, tailDots(dt, p, xb + xo, tail));
        }
        storeRows(out, t, m, g, ra);
        storeRows(out, t + 1, m, g, rb);
      }
      for (; t < t1; t++) {
        const xr = x + <usize>t * xrow;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        let p = gp;
        for (let c = 0; c < nc; c++) {
          const xp = xr + (<usize>c << 5);
          const x0 = v128.load(xp), x1 = v128.load(xp, 16);
          a0 = fma(lo4(dt, p, fm, fb), x0, fma(hi4(dt, p, fm, fb), x1, a0));
          a1 = fma(lo4(dt, p + rs, fm, fb), x0, fma(hi4(dt, p + rs, fm, fb), x1, a1));
          a2 = fma(lo4(dt, p + 2 * rs, fm, fb), x0, fma(hi4(dt, p + 2 * rs, fm, fb), x1, a2));
          a3 = fma(lo4(dt, p + 3 * rs, fm, fb), x0, fma(hi4(dt, p + 3 * rs, fm, fb), x1, a3));
          p += cs;
        }
        let acc = hadd4f(a0, a1, a2, a3);
        if (tail) acc = f32x4.add(acc, tailDots(dt, p, xr + (<usize>(nc << 3) << 2), tail));
        storeRows(out, t, m, g, acc);
      }
    }
  }
}

export function mmF32(w: usize, x: usize, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmFloat(0, w, x, out, m, k, T, g0, g1); }
export function mmF16(w: usize, x: usize, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmFloat(1, w, x, out, m, k, T, g0, g1); }
export function mmBF16(w: usize, x: usize, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmFloat(2, w, x, out, m, k, T, g0, g1); }
