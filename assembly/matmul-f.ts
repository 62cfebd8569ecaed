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

import { f16, f16x4i, fma, hadd4f, vec4 } from './common';
import { storeRows } from './matmul-q';

@inline function lo4(dt: i32, p: usize): v128 {
  if (dt == 0) return v128.load(p);
  const h = v128.load(p);
  if (dt == 1) return f16x4i(i32x4.extend_low_i16x8_u(h));
  return i32x4.shl(i32x4.extend_low_i16x8_u(h), 16);
}

@inline function hi4(dt: i32, p: usize): v128 {
  if (dt == 0) return v128.load(p, 16);
  const h = v128.load(p);
  if (dt == 1) return f16x4i(i32x4.extend_high_i16x8_u(h));
  return i32x4.shl(i32x4.extend_high_i16x8_u(h), 16);
}

@inline function scalarAt(dt: i32, p: usize): f32 {
  if (dt == 0) return load<f32>(p);
  if (dt == 1) return f16(load<u16>(p));
  return reinterpret<f32>(<u32>load<u16>(p) << 16);
}

@inline function mmFloat(dt: i32, w: usize, x: usize, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void {
  const es: usize = dt == 0 ? 4 : 2;
  const nc = k >> 3, tail = k & 7;
  const cs: usize = es << 5; // bytes of one chunk unit (4 rows x 8 elements)
  const gs = <usize>k * (es << 2);
  for (let g = g0; g < g1; g++) {
    const gp = w + <usize>g * gs;
    for (let t = 0; t < T; t++) {
      const xr = x + ((<usize>t * <usize>k) << 2);
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let p = gp;
      for (let c = 0; c < nc; c++) {
        const xp = xr + (<usize>c << 5);
        const x0 = v128.load(xp), x1 = v128.load(xp, 16);
        a0 = fma(lo4(dt, p), x0, fma(hi4(dt, p), x1, a0));
        a1 = fma(lo4(dt, p + (es << 3)), x0, fma(hi4(dt, p + (es << 3)), x1, a1));
        a2 = fma(lo4(dt, p + (es << 4)), x0, fma(hi4(dt, p + (es << 4)), x1, a2));
        a3 = fma(lo4(dt, p + 3 * (es << 3)), x0, fma(hi4(dt, p + 3 * (es << 3)), x1, a3));
        p += cs;
      }
      let acc = hadd4f(a0, a1, a2, a3);
      if (tail) {
        const xt = xr + (<usize>(nc << 3) << 2);
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
        acc = f32x4.add(acc, vec4(s0, s1, s2, s3));
      }
      storeRows(out, t, m, g, acc);
    }
  }
}

export function mmF32(w: usize, x: usize, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmFloat(0, w, x, out, m, k, T, g0, g1); }
export function mmF16(w: usize, x: usize, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmFloat(1, w, x, out, m, k, T, g0, g1); }
export function mmBF16(w: usize, x: usize, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32): void { mmFloat(2, w, x, out, m, k, T, g0, g1); }
