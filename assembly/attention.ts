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

/** dot(a, b0, n) and dot(a, b1, n) with a's loads shared: each is computed exactly as dot() does */
@inline function dot2(a: usize, b0: usize, b1: usize, n: i32, out: usize, scale: f32): void {
  let s0 = f32x4.splat(0), s1 = s0, t0 = s0, t1 = s0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    const a0 = v128.load(a + o), a1 = v128.load(a + o, 16);
    s0 = fma(a0, v128.load(b0 + o), s0);
    s1 = fma(a1, v128.load(b0 + o, 16), s1);
    t0 = fma(a0, v128.load(b1 + o), t0);
    t1 = fma(a1, v128.load(b1 + o, 16), t1);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const a0 = v128.load(a + o);
    s0 = fma(a0, v128.load(b0 + o), s0);
    t0 = fma(a0, v128.load(b1 + o), t0);
  }
  s0 = f32x4.add(s0, s1);
  t0 = f32x4.add(t0, t1);
  const su = f32x4.add(s0, v128.shuffle<f32>(s0, s0, 2, 3, 0, 1));
  const tu = f32x4.add(t0, v128.shuffle<f32>(t0, t0, 2, 3, 0, 1));
  let s = f32x4.extract_lane(su, 0) + f32x4.extract_lane(su, 1);
  let t = f32x4.extract_lane(tu, 0) + f32x4.extract_lane(tu, 1);
  for (; i < n; i++) {
    const av = load<f32>(a + (<usize>i << 2));
    s += av * load<f32>(b0 + (<usize>i << 2));
    t += av * load<f32>(b1 + (<usize>i << 2));
  }
  store<f32>(out, s * scale);
  store<f32>(out, t * scale, 4);
}

/**
 * o[0..n) += p0 v0 + p1 v1 + p2 v2 + p3 v3, one key after the other per element: the same
 * roundings as four axpy passes, with one load and store of o instead of four
 */
@inline function axpy4(o: usize, v0: usize, v1: usize, v2: usize, v3: usize, p0: f32, p1: f32, p2: f32, p3: f32, n: i32): void {
  const q0 = f32x4.splat(p0), q1 = f32x4.splat(p1), q2 = f32x4.splat(p2), q3 = f32x4.splat(p3);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    let acc = fma(v128.load(v0 + off), q0, v128.load(o + off));
    acc = fma(v128.load(v1 + off), q1, acc);
    acc = fma(v128.load(v2 + off), q2, acc);
    v128.store(o + off, fma(v128.load(v3 + off), q3, acc));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    let x = load<f32>(o + off) + p0 * load<f32>(v0 + off);
    x += p1 * load<f32>(v1 + off);
    x += p2 * load<f32>(v2 + off);
    store<f32>(o + off, x + p3 * load<f32>(v3 + off));
  }
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
    const kvOff = <usize>(g * D) << 2, rowB = <usize>kvDim << 2;
    let j = lo;
    for (; j + 2 <= pos + 1; j += 2) {
      dot2(qv, K + <usize>(j % cap) * rowB + kvOff, K + <usize>((j + 1) % cap) * rowB + kvOff, D, scratch + (<usize>(j - lo) << 2), scale);
    }
    for (; j <= pos; j++) {
      const kp = K + <usize>(j % cap) * rowB + kvOff;
      store<f32>(scratch + (<usize>(j - lo) << 2), dot(qv, kp, D) * scale);
    }
    const mx = capMax(scratch, n, softcap);
    const sum = expShift(scratch, n, mx);
    const o = out + ((<usize>it * <usize>D) << 2);
    memory.fill(o, 0, <usize>D << 2);
    j = lo;
    for (; j + 4 <= pos + 1; j += 4) {
      const sp = scratch + (<usize>(j - lo) << 2);
      axpy4(o, V + <usize>(j % cap) * rowB + kvOff, V + <usize>((j + 1) % cap) * rowB + kvOff,
        V + <usize>((j + 2) % cap) * rowB + kvOff, V + <usize>((j + 3) % cap) * rowB + kvOff,
        load<f32>(sp), load<f32>(sp, 4), load<f32>(sp, 8), load<f32>(sp, 12), D);
    }
    for (; j <= pos; j++) {
      const vp = V + <usize>(j % cap) * rowB + kvOff;
      axpy(o, vp, load<f32>(scratch + (<usize>(j - lo) << 2)), D);
    }
    const inv: f32 = <f32>1.0 / sum;
    const iv = f32x4.splat(inv);
    let i = 0;
    for (; i + 4 <= D; i += 4) { const off = <usize>i << 2; v128.store(o + off, f32x4.mul(v128.load(o + off), iv)); }
    for (; i < D; i++) { const off = <usize>i << 2; store<f32>(o + off, load<f32>(o + off) * inv); }
  }
}
