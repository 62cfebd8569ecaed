// Attention over the KV cache (f32 or f16 rows, ring buffer: position p in slot p % cap; the
// export's kv16 argument picks the element type, fixed in each of its two bodies), one work item
// per (query row, KV head) or, decoding, per (KV head, range of keys); threads take contiguous
// ranges of items.
//
// For query row r (position pos = startPos + r) and head h, KV head g = h / (H / G):
//   keys j in [lo, pos], lo = max(0, pos - W + 1) with a window W, else 0; and never older
//   than the cache holds (pos - cap + 1)
//   s_j = cap_soft(scale * q.k_j)      (cap_soft(s) = c tanh(s / c) when soft-capping)
//   out = sum_j softmax(s)_j v_j
// The scores of one item (a row per head of its group) live in a per-thread scratch.

import { expx4, f16, f16Bias, f16Mask, f16x4, fma, hadd4f, lane0 } from './common';
import { capMax, expShift } from './elementwise';

/** four cache elements from element i of the row at p, as f32 (fm, fb: common.ts f16x4s) */
@inline function kv4(kv16: bool, p: usize, i: i32, fm: v128, fb: v128): v128 {
  return kv16 ? f16x4(p + (<usize>i << 1), fm, fb) : v128.load(p + (<usize>i << 2));
}

/** cache element i of the row at p, as f32 */
@inline function kv1(kv16: bool, p: usize, i: i32): f32 {
  return kv16 ? f16(load<u16>(p + (<usize>i << 1))) : load<f32>(p + (<usize>i << 2));
}

/** q . k over n elements (q f32 at a, k a cache row at b) */
@inline function dot(kv16: bool, a: usize, b: usize, n: i32): f32 {
  const fm = f16Mask(n), fb = f16Bias(n);
  let s0 = f32x4.splat(0), s1 = s0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    s0 = fma(v128.load(a + o), kv4(kv16, b, i, fm, fb), s0);
    s1 = fma(v128.load(a + o, 16), kv4(kv16, b, i + 4, fm, fb), s1);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    s0 = fma(v128.load(a + o), kv4(kv16, b, i, fm, fb), s0);
  }
  s0 = f32x4.add(s0, s1);
  const t = f32x4.add(s0, v128.shuffle<f32>(s0, s0, 2, 3, 0, 1));
  let s = f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1);
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * kv1(kv16, b, i);
  return s;
}

/** dot(a, b0, n) and dot(a, b1, n) with a's loads shared: each is computed exactly as dot() does */
@inline function dot2(kv16: bool, a: usize, b0: usize, b1: usize, n: i32, out: usize, scale: f32): void {
  const fm = f16Mask(n), fb = f16Bias(n);
  let s0 = f32x4.splat(0), s1 = s0, t0 = s0, t1 = s0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    const a0 = v128.load(a + o), a1 = v128.load(a + o, 16);
    s0 = fma(a0, kv4(kv16, b0, i, fm, fb), s0);
    s1 = fma(a1, kv4(kv16, b0, i + 4, fm, fb), s1);
    t0 = fma(a0, kv4(kv16, b1, i, fm, fb), t0);
    t1 = fma(a1, kv4(kv16, b1, i + 4, fm, fb), t1);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const a0 = v128.load(a + o);
    s0 = fma(a0, kv4(kv16, b0, i, fm, fb), s0);
    t0 = fma(a0, kv4(kv16, b1, i, fm, fb), t0);
  }
  s0 = f32x4.add(s0, s1);
  t0 = f32x4.add(t0, t1);
  const su = f32x4.add(s0, v128.shuffle<f32>(s0, s0, 2, 3, 0, 1));
  const tu = f32x4.add(t0, v128.shuffle<f32>(t0, t0, 2, 3, 0, 1));
  let s = f32x4.extract_lane(su, 0) + f32x4.extract_lane(su, 1);
  let t = f32x4.extract_lane(tu, 0) + f32x4.extract_lane(tu, 1);
  for (; i < n; i++) {
    const av = load<f32>(a + (<usize>i << 2));
    s += av * kv1(kv16, b0, i);
    t += av * kv1(kv16, b1, i);
  }
  store<f32>(out, s * scale);
  store<f32>(out, t * scale, 4);
}

/**
 * Scores of two keys (k0, k1) against four heads' queries (q, q + qs, q + 2 qs, q + 3 qs), or
 * two with four = false (a compile-time constant at each call): each key vector loaded once
 * for the heads (dot2 per head loads it once per head); one fma chain per (head, key), the tail
 * elements one by one. out: the heads' score rows, os bytes apart.
 */
@inline function dotsHx2(kv16: bool, four: bool, q: usize, qs: usize, k0: usize, k1: usize, n: i32, out: usize, os: usize, scale: f32): void {
  const fm = f16Mask(n), fb = f16Bias(n);
  let a0 = f32x4.splat(0), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const x = kv4(kv16, k0, i, fm, fb), y = kv4(kv16, k1, i, fm, fb);
    let qv = v128.load(q + o);
    a0 = fma(qv, x, a0); a1 = fma(qv, y, a1);
    qv = v128.load(q + qs + o);
    b0 = fma(qv, x, b0); b1 = fma(qv, y, b1);
    if (four) {
      qv = v128.load(q + 2 * qs + o);
      c0 = fma(qv, x, c0); c1 = fma(qv, y, c1);
      qv = v128.load(q + 3 * qs + o);
      d0 = fma(qv, x, d0); d1 = fma(qv, y, d1);
    }
  }
  const ab = hadd4f(a0, a1, b0, b1); // (h0k0, h0k1, h1k0, h1k1)
  let s0 = f32x4.extract_lane(ab, 0), s1 = f32x4.extract_lane(ab, 1), s2 = f32x4.extract_lane(ab, 2), s3 = f32x4.extract_lane(ab, 3);
  let s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
  if (four) {
    const cd = hadd4f(c0, c1, d0, d1); // (h2k0, h2k1, h3k0, h3k1)
    s4 = f32x4.extract_lane(cd, 0); s5 = f32x4.extract_lane(cd, 1); s6 = f32x4.extract_lane(cd, 2); s7 = f32x4.extract_lane(cd, 3);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const x = kv1(kv16, k0, i), y = kv1(kv16, k1, i);
    let qv = load<f32>(q + o); s0 += qv * x; s1 += qv * y;
    qv = load<f32>(q + qs + o); s2 += qv * x; s3 += qv * y;
    if (four) {
      qv = load<f32>(q + 2 * qs + o); s4 += qv * x; s5 += qv * y;
      qv = load<f32>(q + 3 * qs + o); s6 += qv * x; s7 += qv * y;
    }
  }
  store<f32>(out, s0 * scale); store<f32>(out, s1 * scale, 4);
  store<f32>(out + os, s2 * scale); store<f32>(out + os, s3 * scale, 4);
  if (four) {
    store<f32>(out + 2 * os, s4 * scale); store<f32>(out + 2 * os, s5 * scale, 4);
    store<f32>(out + 3 * os, s6 * scale); store<f32>(out + 3 * os, s7 * scale, 4);
  }
}

/**
 * o[0..n) += p0 v0 + p1 v1 + p2 v2 + p3 v3 (cache rows v0..v3 from element i0), one key after
 * the other per element: the same roundings as four axpy passes, with one load and store of o
 * instead of four
 */
@inline function axpy4(kv16: bool, o: usize, v0: usize, v1: usize, v2: usize, v3: usize, i0: i32, p0: f32, p1: f32, p2: f32, p3: f32, n: i32): void {
  const fm = f16Mask(n), fb = f16Bias(n);
  const q0 = f32x4.splat(p0), q1 = f32x4.splat(p1), q2 = f32x4.splat(p2), q3 = f32x4.splat(p3);
  let i = i0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    let acc = fma(kv4(kv16, v0, i, fm, fb), q0, v128.load(o + off));
    acc = fma(kv4(kv16, v1, i, fm, fb), q1, acc);
    acc = fma(kv4(kv16, v2, i, fm, fb), q2, acc);
    v128.store(o + off, fma(kv4(kv16, v3, i, fm, fb), q3, acc));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    let x = load<f32>(o + off) + p0 * kv1(kv16, v0, i);
    x += p1 * kv1(kv16, v1, i);
    x += p2 * kv1(kv16, v2, i);
    store<f32>(o + off, x + p3 * kv1(kv16, v3, i));
  }
}

/**
 * axpy4 for two heads at once (outputs oa, ob; weights pa*, pb*): each value quad loaded once
 * for both, each head's sums in axpy4's order (the same bits)
 */
@inline function axpy4x2(
  kv16: bool, oa: usize, ob: usize, v0: usize, v1: usize, v2: usize, v3: usize,
  pa: usize, pb: usize, n: i32,
): void {
  const fm = f16Mask(n), fb = f16Bias(n);
  const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa, 4), a2 = v128.load32_splat(pa, 8), a3 = v128.load32_splat(pa, 12);
  const b0 = v128.load32_splat(pb), b1 = v128.load32_splat(pb, 4), b2 = v128.load32_splat(pb, 8), b3 = v128.load32_splat(pb, 12);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const x0 = kv4(kv16, v0, i, fm, fb), x1 = kv4(kv16, v1, i, fm, fb), x2 = kv4(kv16, v2, i, fm, fb), x3 = kv4(kv16, v3, i, fm, fb);
    let acc = fma(x0, a0, v128.load(oa + off));
    acc = fma(x1, a1, acc);
    acc = fma(x2, a2, acc);
    v128.store(oa + off, fma(x3, a3, acc));
    let bcc = fma(x0, b0, v128.load(ob + off));
    bcc = fma(x1, b1, bcc);
    bcc = fma(x2, b2, bcc);
    v128.store(ob + off, fma(x3, b3, bcc));
  }
  if (i < n) {
    axpy4(kv16, oa, v0, v1, v2, v3, i, load<f32>(pa), load<f32>(pa, 4), load<f32>(pa, 8), load<f32>(pa, 12), n);
    axpy4(kv16, ob, v0, v1, v2, v3, i, load<f32>(pb), load<f32>(pb, 4), load<f32>(pb, 8), load<f32>(pb, 12), n);
  }
}

/** o[0..n) += p * v[0..n) (v a cache row) */
@inline function axpyKv(kv16: bool, o: usize, v: usize, p: f32, n: i32): void {
  const fm = f16Mask(n), fb = f16Bias(n);
  const pv = f32x4.splat(p);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(o + off, fma(kv4(kv16, v, i, fm, fb), pv, v128.load(o + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(o + off, load<f32>(o + off) + p * kv1(kv16, v, i));
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

/**
 * Work items [item0, item1) of an attention job. One item covers all heads of one KV head's
 * group (GQA/MQA) for one query row, so each key and value row is read from memory once for
 * the whole group (then from L1 for its other heads), and, with `split` > 0 (one query row:
 * decode), only the item's range of at most `split` keys:
 *   split == 0: item = r * G + g, every key of row r; out gets the normalised result;
 *   split > 0:  item = g * ns + s (ns = ceil(n / split)), keys lo + s * split ..; with ns == 1
 *               out gets the result as above, else part gets per head the range's max score m,
 *               its sum of exp(score - m) l and its unnormalised output o (D + 4 floats:
 *               m, l, 0, 0, o), which attnCombine merges.
 * The split depends on the number of keys only, not on the threads: results do not depend on
 * how many threads ran. Scores: two keys at a time against four or two heads (dotsHx2) or one
 * (dot2); values: four keys at a time into two heads' outputs (axpy4x2) or one (axpy4),
 * in the same order for every head.
 * scratch: the group's scores, hg rows of up to `split` (or cap) floats.
 */
export function attention(
  out: usize, q: usize, K: usize, V: usize, rows: i32, H: i32, G: i32, D: i32, cap: i32,
  startPos: i32, window: i32, scale: f32, softcap: f32, scratch: usize, item0: i32, item1: i32,
  split: i32, part: usize, kv16: i32,
): void {
  // kv16 != 0: a cache of f16 rows (elementwise.ts toF16); each body has its element type fixed
  if (kv16 != 0) attn(true, out, q, K, V, rows, H, G, D, cap, startPos, window, scale, softcap, scratch, item0, item1, split, part);
  else attn(false, out, q, K, V, rows, H, G, D, cap, startPos, window, scale, softcap, scratch, item0, item1, split, part);
}

@inline function attn(
  kv16: bool, out: usize, q: usize, K: usize, V: usize, rows: i32, H: i32, G: i32, D: i32, cap: i32,
  startPos: i32, window: i32, scale: f32, softcap: f32, scratch: usize, item0: i32, item1: i32,
  split: i32, part: usize,
): void {
  const hg = H / G;
  const kvDim = G * D;
  const eb: usize = kv16 ? 1 : 2; // log2 of a cache element's bytes
  const rowB = <usize>kvDim << eb;
  for (let it = item0; it < item1; it++) {
    let r = 0, g = 0, s = 0, ns = 1;
    if (split > 0) {
      ns = (startPos - firstKey(startPos, window, cap) + split) / split;
      g = it / ns; s = it % ns;
    } else {
      r = it / G; g = it % G;
    }
    const pos = startPos + r;
    const lo = firstKey(pos, window, cap);
    // this item's keys [a, b]
    const a = split > 0 ? lo + s * split : lo;
    const b = split > 0 ? min(pos, a + split - 1) : pos;
    const n = b - a + 1;
    const kvOff = <usize>(g * D) << eb;
    const whole = ns == 1;
    // head hh of the group: its query at qG + hh * hd, its output at oG + hh * os (the result
    // in out, or this range's unnormalised output in part: attnCombine)
    const hd = <usize>D << 2;
    const qG = q + (<usize>(r * H + g * hg) * <usize>D << 2);
    const oG = whole ? out + (<usize>(r * H + g * hg) * <usize>D << 2) : partOut(part, g * ns + s, hg, 0, D);
    const os: usize = whole ? hd : <usize>(D + 4) << 2;
    // scores: keys two at a time, each pair against every head of the group
    const nS = <usize>n << 2; // bytes of one head's score row
    let j = a;
    for (; j + 2 <= b + 1; j += 2) {
      const k0 = K + <usize>(j % cap) * rowB + kvOff, k1 = K + <usize>((j + 1) % cap) * rowB + kvOff;
      const sj = scratch + (<usize>(j - a) << 2);
      let hh = 0;
      for (; hh + 4 <= hg; hh += 4) dotsHx2(kv16, true, qG + <usize>hh * hd, hd, k0, k1, D, sj + <usize>hh * nS, nS, scale);
      for (; hh + 2 <= hg; hh += 2) dotsHx2(kv16, false, qG + <usize>hh * hd, hd, k0, k1, D, sj + <usize>hh * nS, nS, scale);
      for (; hh < hg; hh++) dot2(kv16, qG + <usize>hh * hd, k0, k1, D, sj + <usize>hh * nS, scale);
    }
    for (; j <= b; j++) {
      const kp = K + <usize>(j % cap) * rowB + kvOff, sj = scratch + (<usize>(j - a) << 2);
      for (let hh = 0; hh < hg; hh++) store<f32>(sj + <usize>hh * nS, dot(kv16, qG + <usize>hh * hd, kp, D) * scale);
    }
    // softmax numerators per head; a range keeps its max and sum in part before its output,
    // a whole row its sums after the score rows (for the division at the end)
    for (let hh = 0; hh < hg; hh++) {
      const sc = scratch + <usize>hh * nS;
      const mx = capMax(sc, n, softcap);
      const sum = expShift(sc, n, mx);
      const o = oG + <usize>hh * os;
      memory.fill(o, 0, hd);
      if (!whole) {
        const pm = o - 16;
        store<f32>(pm, mx); store<f32>(pm, sum, 4); store<f32>(pm, 0, 8); store<f32>(pm, 0, 12);
      } else {
        store<f32>(scratch + <usize>hg * nS + (<usize>hh << 2), sum);
      }
    }
    // values: four keys at a time, each quad into every head's output
    j = a;
    for (; j + 4 <= b + 1; j += 4) {
      const v0 = V + <usize>(j % cap) * rowB + kvOff, v1 = V + <usize>((j + 1) % cap) * rowB + kvOff;
      const v2 = V + <usize>((j + 2) % cap) * rowB + kvOff, v3 = V + <usize>((j + 3) % cap) * rowB + kvOff;
      const sj = scratch + (<usize>(j - a) << 2);
      let hh = 0;
      for (; hh + 2 <= hg; hh += 2) {
        const sp = sj + <usize>hh * nS;
        axpy4x2(kv16, oG + <usize>hh * os, oG + <usize>(hh + 1) * os, v0, v1, v2, v3, sp, sp + nS, D);
      }
      for (; hh < hg; hh++) {
        const sp = sj + <usize>hh * nS;
        axpy4(kv16, oG + <usize>hh * os, v0, v1, v2, v3, 0, load<f32>(sp), load<f32>(sp, 4), load<f32>(sp, 8), load<f32>(sp, 12), D);
      }
    }
    for (; j <= b; j++) {
      const vp = V + <usize>(j % cap) * rowB + kvOff, sj = scratch + (<usize>(j - a) << 2);
      for (let hh = 0; hh < hg; hh++) axpyKv(kv16, oG + <usize>hh * os, vp, load<f32>(sj + <usize>hh * nS), D);
    }
    if (!whole) continue;
    for (let hh = 0; hh < hg; hh++) scaleRow(oG + <usize>hh * os, <f32>1.0 / load<f32>(scratch + <usize>hg * nS + (<usize>hh << 2)), D);
  }
}

/** the oldest key of the query at position pos (a window, or 0; a cache of cap positions) */
@inline function firstKey(pos: i32, window: i32, cap: i32): i32 {
  let lo = window > 0 ? max(0, pos - window + 1) : 0;
  if (pos - lo + 1 > cap) lo = pos - cap + 1;
  return lo;
}

/** where item `item`'s head hh puts its unnormalised output in part (its m, l before it) */
@inline function partOut(part: usize, item: i32, hg: i32, hh: i32, D: i32): usize {
  return part + ((<usize>(item * hg + hh) * <usize>(D + 4) + 4) << 2);
}

/** o[0..n) *= f */
@inline function scaleRow(o: usize, f: f32, n: i32): void {
  const iv = f32x4.splat(f);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const off = <usize>i << 2; v128.store(o + off, f32x4.mul(v128.load(o + off), iv)); }
  for (; i < n; i++) { const off = <usize>i << 2; store<f32>(o + off, load<f32>(o + off) * f); }
}

/**
 * Merge the key ranges of a split decode attention (one query row; `ns` ranges per KV head,
 * laid out by attention): per head, out = sum_s e^(m_s - M) o_s / sum_s e^(m_s - M) l_s with
 * M the largest m_s, ranges in order.
 */
export function attnCombine(out: usize, part: usize, H: i32, G: i32, D: i32, ns: i32): void {
  const hg = H / G;
  for (let h = 0; h < H; h++) {
    const g = h / hg, hh = h % hg;
    let M: f32 = -Infinity;
    for (let s = 0; s < ns; s++) M = max(M, load<f32>(partOut(part, g * ns + s, hg, hh, D) - 16));
    const o = out + ((<usize>h * <usize>D) << 2);
    memory.fill(o, 0, <usize>D << 2);
    let L: f32 = 0;
    for (let s = 0; s < ns; s++) {
      const p = partOut(part, g * ns + s, hg, hh, D);
      const m = load<f32>(p - 16);
      // an empty range cannot occur (every range has a key), but a range whose scores are all
      // -inf would give m = -inf: it adds nothing
      const f: f32 = m == -Infinity ? 0 : lane0(expx4(f32x4.splat(m - M)));
      L += f * load<f32>(p - 12);
      axpy(o, p, f, D);
    }
    scaleRow(o, <f32>1.0 / L, D);
  }
}
