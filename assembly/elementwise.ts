// Row-wise and element-wise ops on f32 activations: RMSNorm, RoPE rotation, GeGLU,
// residual add, soft-capping, scaling. Each is a SIMD loop over 4 lanes plus a scalar tail
// that goes through the same vector maths (lane 0), so tails round like the body.

import { expx4, fma, lane0, tanhx4 } from './common';

/**
 * RMSNorm over `groups` consecutive chunks of n values (n = cols, or headDim for QK-norm):
 *   out = x * (1 / sqrt(mean(x^2) + eps)) * w        (w holds the full multiplier 1 + w_hf)
 * out may alias x.
 */
export function rmsNorm(out: usize, x: usize, w: usize, groups: i32, n: i32, eps: f32): void {
  const n4 = n & ~3;
  for (let g = 0; g < groups; g++) {
    const xp = x + ((<usize>g * <usize>n) << 2), op = out + ((<usize>g * <usize>n) << 2);
    let s0 = f32x4.splat(0), s1 = s0;
    let i = 0;
    for (; i + 8 <= n; i += 8) {
      const a = v128.load(xp + (<usize>i << 2)), b = v128.load(xp + (<usize>i << 2), 16);
      s0 = fma(a, a, s0);
      s1 = fma(b, b, s1);
    }
    s0 = f32x4.add(s0, s1);
    for (; i < n4; i += 4) { const a = v128.load(xp + (<usize>i << 2)); s0 = fma(a, a, s0); }
    const t = f32x4.add(s0, v128.shuffle<f32>(s0, s0, 2, 3, 0, 1));
    let ss = f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1);
    for (; i < n; i++) { const v = load<f32>(xp + (<usize>i << 2)); ss += v * v; }
    const inv: f32 = <f32>1.0 / sqrt<f32>(ss / <f32>n + eps);
    const iv = f32x4.splat(inv);
    i = 0;
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      v128.store(op + o, f32x4.mul(f32x4.mul(v128.load(xp + o), iv), v128.load(w + o)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(op + o, load<f32>(xp + o) * inv * load<f32>(w + o));
    }
  }
}

/**
 * RoPE on half-split pairs, in place: for row r, head h, i < D/2,
 *   (a, b) = (x[i], x[i + D/2]) -> (a cos - b sin, a sin + b cos)
 * cos/sin come from the host (computed in f64 per position): cos at cs + (r*half + i)*4,
 * sin at cs + (rows*half + r*half + i)*4.
 */
export function ropeApply(x: usize, rows: i32, heads: i32, D: i32, cs: usize): void {
  const half = D >> 1, h4 = half & ~3;
  const sinBase = cs + ((<usize>rows * <usize>half) << 2);
  for (let r = 0; r < rows; r++) {
    const cr = cs + ((<usize>r * <usize>half) << 2), sr = sinBase + ((<usize>r * <usize>half) << 2);
    for (let h = 0; h < heads; h++) {
      const p = x + ((<usize>(r * heads + h) * <usize>D) << 2);
      const q = p + (<usize>half << 2);
      let i = 0;
      for (; i < h4; i += 4) {
        const o = <usize>i << 2;
        const a = v128.load(p + o), b = v128.load(q + o), c = v128.load(cr + o), s = v128.load(sr + o);
        v128.store(p + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
        v128.store(q + o, f32x4.add(f32x4.mul(a, s), f32x4.mul(b, c)));
      }
      for (; i < half; i++) {
        const o = <usize>i << 2;
        const a = load<f32>(p + o), b = load<f32>(q + o), c = load<f32>(cr + o), s = load<f32>(sr + o);
        store<f32>(p + o, a * c - b * s);
        store<f32>(q + o, a * s + b * c);
      }
    }
  }
}

/**
 * gelu_tanh(g) = 0.5 g (1 + tanh(u)), u = sqrt(2/pi) (g + 0.044715 g^3)
 *              = g / (1 + e^(-2u))          since 0.5 (1 + tanh(u)) = sigmoid(2u)
 * (one exp and one division; exact to f32 rounding at both tails: e^(-2u) -> 0 or -> huge)
 */
@inline function gelu4(g: v128): v128 {
  const m2u = f32x4.mul(f32x4.splat(-1.5957691216057308), fma(f32x4.mul(f32x4.mul(g, g), g), f32x4.splat(0.044715), g));
  return f32x4.div(g, f32x4.add(f32x4.splat(1.0), expx4(m2u)));
}

/** out = gelu_tanh(gate) * up over n elements (out may alias either input) */
export function geglu(out: usize, gate: usize, up: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(gelu4(v128.load(gate + o)), v128.load(up + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, lane0(gelu4(f32x4.splat(load<f32>(gate + o)))) * load<f32>(up + o));
  }
}

/**
 * dst[0..n) = src[0..n) rounded to f16 bits, to nearest even: overflow to +-inf, NaN to a quiet
 * NaN, f16 subnormals (by adding 0.5, whose exponent puts the rounding at the subnormal's last
 * bit) and signed zeros kept (the f32 -> f16 conversion of the f16 KV cache: attention.ts)
 */
export function toF16(dst: usize, src: usize, n: i32): void {
  const f32inf = i32x4.splat(0x7f800000), f16max = i32x4.splat(0x47800000); // 65536: inf after rounding
  const denorm = i32x4.splat(0x3f000000), normLo = i32x4.splat(0x38800000); // 0.5; 2^-14, the smallest normal f16
  const rebias = i32x4.splat(-0x38000000 + 0xfff), one = i32x4.splat(1);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const lo = half4(v128.load(src + (<usize>i << 2)), f32inf, f16max, denorm, normLo, rebias, one);
    const hi = half4(v128.load(src + (<usize>i << 2), 16), f32inf, f16max, denorm, normLo, rebias, one);
    v128.store(dst + (<usize>i << 1), i16x8.narrow_i32x4_u(lo, hi));
  }
  for (; i < n; i++) {
    const v = half4(v128.load32_zero(src + (<usize>i << 2)), f32inf, f16max, denorm, normLo, rebias, one);
    store<u16>(dst + (<usize>i << 1), <u16>i32x4.extract_lane(v, 0));
  }
}

/** four f32 (bits in x) -> f16 bits in the low halves of the lanes (toF16) */
@inline function half4(x: v128, f32inf: v128, f16max: v128, denorm: v128, normLo: v128, rebias: v128, one: v128): v128 {
  const sign = v128.and(x, i32x4.splat(0x80000000));
  const a = v128.xor(x, sign); // |x| bits
  // normal f16: rebias the exponent, round to nearest even at bit 13
  const odd = v128.and(i32x4.shr_u(a, 13), one);
  const norm = i32x4.shr_u(i32x4.add(i32x4.add(a, rebias), odd), 13);
  // subnormal f16 (|x| < 2^-14): |x| + 0.5 rounds |x| to a multiple of 2^-24 in the low bits
  const sub = i32x4.sub(f32x4.add(a, denorm), denorm);
  // too large: inf, or a quiet NaN for NaN
  const big = v128.bitselect(i32x4.splat(0x7e00), i32x4.splat(0x7c00), i32x4.gt_s(a, f32inf));
  let h = v128.bitselect(sub, norm, i32x4.lt_s(a, normLo));
  h = v128.bitselect(big, h, i32x4.ge_s(a, f16max));
  return v128.or(h, i32x4.shr_u(sign, 16));
}

/** out = a + b over n elements (out may alias a) */
export function add(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

@inline function cap4(x: v128, cap: f32): v128 {
  return f32x4.mul(f32x4.splat(cap), tanhx4(f32x4.mul(x, f32x4.splat(<f32>1.0 / cap))));
}

/** in place: x = cap * tanh(x / cap) */
export function softcap(x: usize, n: i32, cap: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, cap4(v128.load(x + o), cap));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, lane0(cap4(f32x4.splat(load<f32>(x + o)), cap)));
  }
}

/** x[0..n) = 0 */
export function zero(x: usize, n: usize): void { memory.fill(x, 0, n); }

/** index of the largest of n values (the first one on ties; NaN never wins) */
/** lanes where (bv, bi) beats (av, ai): greater, or equal with a lower index */
@inline function argTake(av: v128, ai: v128, bv: v128, bi: v128): v128 {
  return v128.or(f32x4.gt(bv, av), v128.and(f32x4.eq(bv, av), i32x4.lt_s(bi, ai)));
}

/**
 * Index of the largest value (first on ties; NaN never wins; 0 when all are -Infinity or n = 0).
 * Four independent compare-and-select chains of four lanes (16 values a step: one chain alone is
 * bound by its compare-select latency), merged lane-wise, then across lanes.
 */
export function argmax(x: usize, n: i32): i32 {
  if (n <= 0) return 0;
  let b0 = f32x4.splat(-Infinity), b1 = b0, b2 = b0, b3 = b0;
  let i0 = i32x4.splat(0), i1 = i0, i2 = i0, i3 = i0;
  let idx = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4), sixteen = i32x4.splat(16);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
    const g0 = f32x4.gt(v0, b0), g1 = f32x4.gt(v1, b1), g2 = f32x4.gt(v2, b2), g3 = f32x4.gt(v3, b3);
    b0 = v128.bitselect(v0, b0, g0); i0 = v128.bitselect(idx, i0, g0);
    const idx1 = i32x4.add(idx, four);
    b1 = v128.bitselect(v1, b1, g1); i1 = v128.bitselect(idx1, i1, g1);
    const idx2 = i32x4.add(idx1, four);
    b2 = v128.bitselect(v2, b2, g2); i2 = v128.bitselect(idx2, i2, g2);
    b3 = v128.bitselect(v3, b3, g3); i3 = v128.bitselect(i32x4.add(idx2, four), i3, g3);
    idx = i32x4.add(idx, sixteen);
  }
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const gt = f32x4.gt(v, b0);
    b0 = v128.bitselect(v, b0, gt);
    i0 = v128.bitselect(idx, i0, gt);
    idx = i32x4.add(idx, four);
  }
  // each lane of each chain holds the first maximum of its own indices: merge the chains
  // lane-wise (greater, or equal with a lower index)
  let k = argTake(b0, i0, b1, i1);
  let mv = v128.bitselect(b1, b0, k), mi = v128.bitselect(i1, i0, k);
  k = argTake(mv, mi, b2, i2);
  mv = v128.bitselect(b2, mv, k); mi = v128.bitselect(i2, mi, k);
  k = argTake(mv, mi, b3, i3);
  mv = v128.bitselect(b3, mv, k); mi = v128.bitselect(i3, mi, k);
  // then across lanes: the largest, then the lowest index
  let best: f32 = -Infinity, at = 0;
  const v0 = f32x4.extract_lane(mv, 0), v1 = f32x4.extract_lane(mv, 1), v2 = f32x4.extract_lane(mv, 2), v3 = f32x4.extract_lane(mv, 3);
  const j0 = i32x4.extract_lane(mi, 0), j1 = i32x4.extract_lane(mi, 1), j2 = i32x4.extract_lane(mi, 2), j3 = i32x4.extract_lane(mi, 3);
  if (v0 > best) { best = v0; at = j0; }
  if (v1 > best || (v1 == best && v1 > -Infinity && j1 < at)) { best = v1; at = j1; }
  if (v2 > best || (v2 == best && v2 > -Infinity && j2 < at)) { best = v2; at = j2; }
  if (v3 > best || (v3 == best && v3 > -Infinity && j3 < at)) { best = v3; at = j3; }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v > best) { best = v; at = i; }
  }
  return at;
}

/** in place: x *= s */
export function scale(x: usize, n: i32, s: f32): void {
  let i = 0;
  const sv = f32x4.splat(s);
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.mul(v128.load(x + o), sv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, load<f32>(x + o) * s);
  }
}

/** exp(x - mx) in place over n values; returns their sum */
export function expShift(x: usize, n: i32, mx: f32): f32 {
  const m = f32x4.splat(mx);
  let s = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const e = expx4(f32x4.sub(v128.load(x + o), m));
    v128.store(x + o, e);
    s = f32x4.add(s, e);
  }
  const t = f32x4.add(s, v128.shuffle<f32>(s, s, 2, 3, 0, 1));
  let sum = f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1);
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const e = lane0(expx4(f32x4.splat(load<f32>(x + o) - mx)));
    store<f32>(x + o, e);
    sum += e;
  }
  return sum;
}

/** soft-cap n scores in place (cap > 0) and return their maximum */
export function capMax(x: usize, n: i32, cap: f32): f32 {
  let mx: f32 = -Infinity;
  let i = 0;
  if (cap > 0) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(x + o, cap4(v128.load(x + o), cap));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(x + o, lane0(cap4(f32x4.splat(load<f32>(x + o)), cap)));
    }
  }
  let mv = f32x4.splat(-Infinity);
  i = 0;
  for (; i + 4 <= n; i += 4) mv = f32x4.max(mv, v128.load(x + (<usize>i << 2)));
  const t = f32x4.max(mv, v128.shuffle<f32>(mv, mv, 2, 3, 0, 1));
  mx = max(f32x4.extract_lane(t, 0), f32x4.extract_lane(t, 1));
  for (; i < n; i++) mx = max(mx, load<f32>(x + (<usize>i << 2)));
  return mx;
}
