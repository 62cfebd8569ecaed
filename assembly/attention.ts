// Attention over the KV cache (f32, ring buffer: position p in slot p % cap), one work item
// per (query row, head); threads take contiguous ranges of items.
//
// For query row r (position pos = startPos + r) and head h, KV head g = h / (H / G):
//   keys j in [lo, pos], lo = max(0, pos - W + 1) with a window W, else 0; and never older
//   than the cache holds (pos - cap + 1)
//   s_j = cap_soft(scale * q.k_j)      (cap_soft(s) = c tanh(s / c) when soft-capping)
//   out = sum_j softmax(s)_j v_j
// The scores of one item live in a per-thread scratch row.

import { fma } from './common';
import { capMax, expShift } from './elementwise';

@inline function dot(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = s0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    s0 = fma(v128.load(a + o), v128.load(b + o), s0);
    s1 = fma(v128.load(a + o, 16), v128.load(b + o, 16), s1);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    s0 = fma(v128.load(a + o), v128.load(b + o), s0);
  }
  s0 = f32x4.add(s0, s1);
  const t = f32x4.add(s0, v128.shuffle<f32>(s0, s0, 2, 3, 0, 1));
  let s = f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1);
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/** o[0..n) += p * v[0..n) */
@inline function axpy(o: usize, v: usize, p: f32, n: i32): void {
  const pv = f32x4.splat(p);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(o + off, fma(v128.load(v + off), pv, v128.load(o + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(o + off, load<f32>(o + off) + p * load<f32>(v + off));
  }
}

export function attention(
  out: usize, q: usize, K: usize, V: usize, rows: i32, H: i32, G: i32, D: i32, cap: i32,
  startPos: i32, window: i32, scale: f32, softcap: f32, scratch: usize, item0: i32, item1: i32,
): void {
  const group = H / G;
  const kvDim = G * D;
  for (let it = item0; it < item1; it++) {
    const r = it / H, h = it % H;
    const pos = startPos + r;
    let lo = window > 0 ? max(0, pos - window + 1) : 0;
    if (pos - lo + 1 > cap) lo = pos - cap + 1;
    const n = pos - lo + 1;
    const g = h / group;
    const qv = q + ((<usize>it * <usize>D) << 2);
    for (let j = lo; j <= pos; j++) {
      const kp = K + ((<usize>(j % cap) * <usize>kvDim + <usize>(g * D)) << 2);
      store<f32>(scratch + (<usize>(j - lo) << 2), dot(qv, kp, D) * scale);
    }
    const mx = capMax(scratch, n, softcap);
    const sum = expShift(scratch, n, mx);
    const o = out + ((<usize>it * <usize>D) << 2);
    memory.fill(o, 0, <usize>D << 2);
    for (let j = lo; j <= pos; j++) {
      const vp = V + ((<usize>(j % cap) * <usize>kvDim + <usize>(g * D)) << 2);
      axpy(o, vp, load<f32>(scratch + (<usize>(j - lo) << 2)), D);
    }
    const inv: f32 = <f32>1.0 / sum;
    const iv = f32x4.splat(inv);
    let i = 0;
    for (; i + 4 <= D; i += 4) { const off = <usize>i << 2; v128.store(o + off, f32x4.mul(v128.load(o + off), iv)); }
    for (; i < D; i++) { const off = <usize>i << 2; store<f32>(o + off, load<f32>(o + off) * inv); }
  }
}
