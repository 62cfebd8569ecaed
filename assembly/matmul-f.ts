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

import { f16, f16Bias, f16Mask, f16x4s, fma, groupPtr, hadd4f, vec4 } from './common';
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

/** four f16 at p as f32 bits without the rebias: w 2^-112 exactly (fm: common.ts f16Mask) */
@inline function bits4(p: usize, fm: v128): v128 {
  return v128.and(i32x4.shl(v128.load_ext<i16>(p), 13), fm);
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
 * Prefill with per-thread scratch (T >= 2): the group's four rows are widened once per token
 * tile to f32 (host: jobs.ts FLOAT_WIDE_COLUMN, 16 bytes a column), in chunks of four columns:
 * [row 0 columns 4c..4c+3][row 1][row 2][row 3] (64 bytes), then the k % 4 tail columns as
 * column vectors (row0[j], row1[j], row2[j], row3[j]). Activation rows then go two at a time
 * against four columns per step: 8 accumulators, 4 weight and 2 activation vectors, 14
 * registers, so nothing spills (the decode loop's eight columns per step spill on V8's 16),
 * and eight independent fma chains cover the fma latency.
 */
@inline function widenFloat(dt: i32, gp: usize, k: i32, s: usize, fm: v128, fb: v128): void {
  const es: usize = dt == 0 ? 4 : 2;
  const nc = k >> 3, tail = k & 7;
  const rs: usize = es << 3, cs: usize = es << 5;
  let p = gp, q = s;
  for (let c = 0; c < nc; c++) {
    v128.store(q, lo4(dt, p, fm, fb)); v128.store(q, lo4(dt, p + rs, fm, fb), 16);
    v128.store(q, lo4(dt, p + 2 * rs, fm, fb), 32); v128.store(q, lo4(dt, p + 3 * rs, fm, fb), 48);
    v128.store(q, hi4(dt, p, fm, fb), 64); v128.store(q, hi4(dt, p + rs, fm, fb), 80);
    v128.store(q, hi4(dt, p + 2 * rs, fm, fb), 96); v128.store(q, hi4(dt, p + 3 * rs, fm, fb), 112);
    p += cs;
    q += 128;
  }
  // the tail (k % 8 columns of the x4 layout): a chunk of four when there are four, then columns
  const ts = <usize>tail * es;
  let i = 0;
  if (tail >= 4) {
    for (let r: usize = 0; r < 4; r++) {
      const e = p + r * ts;
      v128.store(q + (r << 4), vec4(scalarAt(dt, e), scalarAt(dt, e + es), scalarAt(dt, e + 2 * es), scalarAt(dt, e + 3 * es)));
    }
    q += 64;
    i = 4;
  }
  for (; i < tail; i++) {
    const e = p + <usize>i * es;
    v128.store(q, vec4(scalarAt(dt, e), scalarAt(dt, e + ts), scalarAt(dt, e + 2 * ts), scalarAt(dt, e + 3 * ts)));
    q += 16;
  }
}

/** the tail columns (k % 4) of a widened group against activation row xr: the four rows' sums */
@inline function tailColumns(s: usize, xr: usize, k: i32): v128 {
  const n4 = k >> 2;
  let a = f32x4.splat(0);
  let q = s + (<usize>n4 << 6);
  for (let j = n4 << 2; j < k; j++) {
    a = fma(v128.load(q), v128.load32_splat(xr + (<usize>j << 2)), a);
    q += 16;
  }
  return a;
}

/** activation rows a and b (f32) against a widened group */
@inline function rowsFloat2(s: usize, xa: usize, xb: usize, k: i32, out: usize, t: i32, m: i32, g: i32): void {
  const n4 = k >> 2;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  let q = s;
  for (let c = 0; c < n4; c++) {
    const o = <usize>c << 4;
    const x = v128.load(xa + o), y = v128.load(xb + o);
    const w0 = v128.load(q), w1 = v128.load(q, 16), w2 = v128.load(q, 32), w3 = v128.load(q, 48);
    a0 = fma(w0, x, a0); b0 = fma(w0, y, b0);
    a1 = fma(w1, x, a1); b1 = fma(w1, y, b1);
    a2 = fma(w2, x, a2); b2 = fma(w2, y, b2);
    a3 = fma(w3, x, a3); b3 = fma(w3, y, b3);
    q += 64;
  }
  storeRows(out, t, m, g, f32x4.add(hadd4f(a0, a1, a2, a3), tailColumns(s, xa, k)));
  storeRows(out, t + 1, m, g, f32x4.add(hadd4f(b0, b1, b2, b3), tailColumns(s, xb, k)));
}

/** one activation row against a widened group (the odd row left by rowsFloat2) */
@inline function rowFloat1(s: usize, xa: usize, k: i32): v128 {
  const n4 = k >> 2;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let q = s;
  for (let c = 0; c < n4; c++) {
    const x = v128.load(xa + (<usize>c << 4));
    a0 = fma(v128.load(q), x, a0); a1 = fma(v128.load(q, 16), x, a1);
    a2 = fma(v128.load(q, 32), x, a2); a3 = fma(v128.load(q, 48), x, a3);
    q += 64;
  }
  return f32x4.add(hadd4f(a0, a1, a2, a3), tailColumns(s, xa, k));
}

/**
 * Decode (T = 1), or any T without scratch: straight from the x4 layout, activation rows two
 * at a time (each weight chunk converted once for both), then one; per weight row and
 * activation row f32x4 accumulators, reduced at the end.
 */
@inline function mmFloat(dt: i32, w: usize, x: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void {
  const es: usize = dt == 0 ? 4 : 2;
  const nc = k >> 3, tail = k & 7;
  const cs: usize = es << 5; // bytes of one chunk unit (4 rows x 8 elements)
  const rs: usize = es << 3; // bytes of one row's chunk
  const gs = <usize>k * (es << 2);
  // activation row stride: xs, or k floats (xs = 0); a column panel's rows are longer (index.ts)
  const xrow = xs != 0 ? <usize>xs : <usize>k << 2;
  // activation rows in tiles of ~512 KiB (L2) while the thread's rows of weights stream by
  const tt = tokenTile(k << 2);
  const fm = f16Mask(tt), fb = f16Bias(tt);
  for (let t0 = 0; t0 < T; t0 += tt) {
    const t1 = min(T, t0 + tt);
    for (let g = g0; g < g1; g++) {
      const gp = groupPtr(w, g, gs);
      let t = t0;
      if (scratch != 0 && t1 - t0 >= 2) {
        widenFloat(dt, gp, k, scratch, fm, fb);
        for (; t + 2 <= t1; t += 2) rowsFloat2(scratch, x + <usize>t * xrow, x + <usize>(t + 1) * xrow, k, out, t, m, g);
        if (t < t1) storeRows(out, t, m, g, rowFloat1(scratch, x + <usize>t * xrow, k));
        continue;
      }
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
        let acc: v128;
        let p = gp;
        if (dt == 1) {
          // F16: eight independent fma chains (a: elements 0..3 of each chunk, b: 4..7) hide
          // the conversions' latency (in-process A/B: +8-11 %); F32 and BF16 lose to the
          // register pressure (BF16 -19 %) and keep four.
          // The weights are converted without f16x4s's rebiasing multiply: the masked bits read
          // as an f32 are w 2^-112, exactly (subnormal halves too, as f32 denormals). The
          // activations are scaled by 2^64 instead (two multiplies per chunk, not eight), so
          // each product is w x 2^-48, and the sums are scaled back by 2^48: powers of two, so
          // every product and sum rounds as w x would, unless |w x| < 2^-78 (its contribution
          // then underflows) or |x| >= 2^64 (no real activation: x^2 overflows RMSNorm first).
          let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
          const up = f32x4.splat(reinterpret<f32>(0x5f800000)); // 2^64
          for (let c = 0; c < nc; c++) {
            const xp = xr + (<usize>c << 5);
            const x0 = f32x4.mul(v128.load(xp), up), x1 = f32x4.mul(v128.load(xp, 16), up);
            a0 = fma(bits4(p, fm), x0, a0); b0 = fma(bits4(p + 8, fm), x1, b0);
            a1 = fma(bits4(p + rs, fm), x0, a1); b1 = fma(bits4(p + rs + 8, fm), x1, b1);
            a2 = fma(bits4(p + 2 * rs, fm), x0, a2); b2 = fma(bits4(p + 2 * rs + 8, fm), x1, b2);
            a3 = fma(bits4(p + 3 * rs, fm), x0, a3); b3 = fma(bits4(p + 3 * rs + 8, fm), x1, b3);
            p += cs;
          }
          acc = f32x4.mul(hadd4f(f32x4.add(a0, b0), f32x4.add(a1, b1), f32x4.add(a2, b2), f32x4.add(a3, b3)), f32x4.splat(reinterpret<f32>(0x57800000))); // 2^48
        } else {
          let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
          for (let c = 0; c < nc; c++) {
            const xp = xr + (<usize>c << 5);
            const x0 = v128.load(xp), x1 = v128.load(xp, 16);
            a0 = fma(lo4(dt, p, fm, fb), x0, fma(hi4(dt, p, fm, fb), x1, a0));
            a1 = fma(lo4(dt, p + rs, fm, fb), x0, fma(hi4(dt, p + rs, fm, fb), x1, a1));
            a2 = fma(lo4(dt, p + 2 * rs, fm, fb), x0, fma(hi4(dt, p + 2 * rs, fm, fb), x1, a2));
            a3 = fma(lo4(dt, p + 3 * rs, fm, fb), x0, fma(hi4(dt, p + 3 * rs, fm, fb), x1, a3));
            p += cs;
          }
          acc = hadd4f(a0, a1, a2, a3);
        }
        if (tail) acc = f32x4.add(acc, tailDots(dt, p, xr + (<usize>(nc << 3) << 2), tail));
        storeRows(out, t, m, g, acc);
      }
    }
  }
}

export function mmF32(w: usize, x: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void { mmFloat(0, w, x, xs, out, m, k, T, g0, g1, scratch); }
export function mmF16(w: usize, x: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void { mmFloat(1, w, x, xs, out, m, k, T, g0, g1, scratch); }
export function mmBF16(w: usize, x: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void { mmFloat(2, w, x, xs, out, m, k, T, g0, g1, scratch); }
