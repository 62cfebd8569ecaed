// Causal attention over a ring-buffer KV cache for one (query row, head) per workgroup:
//   out = softmax(cap(scale * q k_j)) v_j over keys j in [lo, pos]
// with lo from the sliding window and the cache capacity (as src/kernels/reference/ops.ts).
// Keys are visited in chunks of {{WG}}, one key per invocation, with an online softmax: a
// running max M and sum L, and the output accumulator rescaled by exp(M_old - M_new) whenever
// the max grows. Query head h reads KV head h / group (GQA/MQA).
// SPLIT (flash-decoding, for a few query rows over many keys): workgroup z takes keys
// [lo + z*span, lo + (z+1)*span) only and writes its partial (M, L, acc[D]) to `out`
// ([row][head][split][2 + D]); attention_combine.wgsl merges the splits.
#include "common/header"
#include "common/gelu"
struct Params {
  rows: u32,
  num_heads: u32,
  head_dim: u32,
  kv_dim: u32,
  capacity: u32,
  start_pos: u32,
  group: u32,     // query heads per KV head
  window: u32,    // sliding window (0 = full causal)
  scale: f32,
  softcap: f32,   // 0 = off
  span: u32,      // SPLIT: keys per split
  splits: u32,    // SPLIT: number of splits (workgroups along z)
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kc: array<half_t>;
@group(0) @binding(3) var<storage, read> vc: array<half_t>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
#include "common/reduce"

const DMAX = 4u * {{WG}}u;    // largest head dimension
const NEG = -3.0e38;          // below every finite score
var<workgroup> qs: array<f32, DMAX>;
var<workgroup> ps: array<f32, {{WG}}>;

// sum over the chunk's keys t < cnt of p_t * v[j0 + t][d] (0 when d is past the head)
fn pv(d: u32, j0: u32, cnt: u32, kvo: u32) -> f32 {
  if (d >= P.head_dim) { return 0.0; }
  var a = 0.0;
  for (var t = 0u; t < cnt; t++) { a += ps[t] * f32(vc[((j0 + t) % P.capacity) * P.kv_dim + kvo + d]); }
  return a;
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32
#if SUBGROUPS
  , @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32
#endif
) {
#if SUBGROUPS
  sg_id = sgi;
  sg_size = sgs;
#endif
  let h = wg.x;
  let r = wg.y;
  let split = wg.z;
  let D = P.head_dim;
  let pos = P.start_pos + r;
  var lo = 0u;
  if (P.window > 0u && pos + 1u > P.window) { lo = pos + 1u - P.window; }
  if (pos + 1u - lo > P.capacity) { lo = pos + 1u - P.capacity; } // the cache holds no more
  let kvo = (h / P.group) * D;
#if SPLIT
  let k0 = lo + split * P.span;
  let k1 = min(pos + 1u, k0 + P.span);   // keys [k0, k1); may be empty
#else
  let k0 = lo;
  let k1 = pos + 1u;
#endif
  let qo = (r * P.num_heads + h) * D;
  for (var d = lid; d < D; d += {{WG}}u) { qs[d] = q[qo + d]; }
  workgroupBarrier();

  var M = NEG;
  var L = 0.0;
  // output dimensions lid + WG*i, i < 4 (head_dim <= 256 = 4 * WG)
  var c0 = 0.0;
  var c1 = 0.0;
  var c2 = 0.0;
  var c3 = 0.0;
  for (var j0 = k0; j0 < k1; j0 += {{WG}}u) {
    let j = j0 + lid;
    let valid = j < k1;
    var s = NEG;
    if (valid) {
      let ko = (j % P.capacity) * P.kv_dim + kvo;
      var t = 0.0;
      for (var d = 0u; d < D; d++) { t += qs[d] * f32(kc[ko + d]); }
      s = t * P.scale;
      if (P.softcap > 0.0) { s = P.softcap * tanh_safe(s / P.softcap); }
    }
    let newM = max(M, wg_max(s, lid));
    let p = select(0.0, exp(s - newM), valid);
    ps[lid] = p;
    let alpha = exp(M - newM);
    L = L * alpha + wg_sum(p, lid); // its barriers also publish ps
    let cnt = min({{WG}}u, k1 - j0);
    c0 = c0 * alpha + pv(lid, j0, cnt, kvo);
    c1 = c1 * alpha + pv(lid + {{WG}}u, j0, cnt, kvo);
    c2 = c2 * alpha + pv(lid + 2u * {{WG}}u, j0, cnt, kvo);
    c3 = c3 * alpha + pv(lid + 3u * {{WG}}u, j0, cnt, kvo);
    M = newM;
    workgroupBarrier(); // ps is rewritten by the next chunk
  }
#if SPLIT
  // partial of split z: [M, L, acc[0..D)] (acc not yet divided by L)
  let po = ((r * P.num_heads + h) * P.splits + split) * (D + 2u);
  if (lid == 0u) { out[po] = M; out[po + 1u] = L; }
  let o = po + 2u;
  let inv = 1.0;
#else
  let o = qo;
  let inv = 1.0 / L;
#endif
  if (lid < D) { out[o + lid] = c0 * inv; }
  if (lid + {{WG}}u < D) { out[o + lid + {{WG}}u] = c1 * inv; }
  if (lid + 2u * {{WG}}u < D) { out[o + lid + 2u * {{WG}}u] = c2 * inv; }
  if (lid + 3u * {{WG}}u < D) { out[o + lid + 3u * {{WG}}u] = c3 * inv; }
}
