// Causal attention over a ring-buffer KV cache for one (query row, head) per workgroup:
//   out = softmax(cap(scale * q k_j)) v_j over keys j in [lo, pos]
// with lo from the sliding window and the cache capacity (as src/kernels/reference/ops.ts).
// Query head h reads KV head h / group (GQA/MQA).
//
// Keys are taken KEYS at a time (a chunk). Scores: LANES invocations per key, each summing the
// products of every LANES-th vec4 of q and k (neighbouring invocations read neighbouring 16
// bytes of a key row, so a subgroup reads whole rows), partial sums meet in workgroup memory.
// Values: invocation d owns output dimension d and walks the chunk's keys (neighbouring
// invocations read neighbouring values). An online softmax carries a running max M and sum L
// across chunks; the accumulator is rescaled by exp(M_old - M_new) when the max grows.
// SPLIT (flash-decoding, for a few query rows over many keys): workgroup z takes keys
// [lo + z*span, lo + (z+1)*span) only and writes its partial (M, L, acc[D]) to `out`
// ([row][head][split][2 + D]); attention_combine.wgsl merges the splits.
// Needs head_dim % 4 == 0 and head_dim <= {{WG}} (checked by the host).
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
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
#if KVP
@group(0) @binding(2) var<storage, read> kc: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> vc: array<u32>;
// key elements 4i..4i+3 and value element i of the cache (f16 pairs in u32 words)
fn key4(i: u32) -> vec4<f32> { let w = kc[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }
fn val(i: u32) -> f32 { return unpack2x16float(vc[i / 2u])[i & 1u]; }
#else
@group(0) @binding(2) var<storage, read> kc: array<vec4<kv_t>>;
@group(0) @binding(3) var<storage, read> vc: array<kv_t>;
fn key4(i: u32) -> vec4<f32> { return vec4<f32>(kc[i]); }
fn val(i: u32) -> f32 { return f32(vc[i]); }
#endif
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const LANES = 8u;                 // invocations per key when scoring
const KEYS = {{WG}}u / LANES;     // keys per chunk
const NEG = -3.0e38;              // below every finite score
var<workgroup> qs: array<vec4<f32>, {{WG}} / 4>;
var<workgroup> part: array<f32, {{WG}}>;
var<workgroup> sc: array<f32, KEYS>;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let r = wg.y;
  let split = wg.z;
  let D = P.head_dim;
  let D4 = D / 4u;
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
  if (lid < D4) { qs[lid] = q[qo / 4u + lid]; }
  workgroupBarrier();

  let key = lid / LANES;
  let lane = lid % LANES;
  var M = NEG;
  var L = 0.0;
  var acc = 0.0;                  // output dimension lid (when lid < D)
  for (var j0 = k0; j0 < k1; j0 += KEYS) {
    // partial scores: invocation (key, lane) sums vec4 pieces lane, lane + LANES, ...
    let j = j0 + key;
    var t = 0.0;
    if (j < k1) {
      let ko4 = ((j % P.capacity) * P.kv_dim + kvo) / 4u;
      for (var i = lane; i < D4; i += LANES) { t += dot(qs[i], key4(ko4 + i)); }
    }
    part[lid] = t;
    workgroupBarrier();
    if (lid < KEYS) {
      var s = NEG;
      if (j0 + lid < k1) {
        var u = 0.0;
        for (var i = 0u; i < LANES; i++) { u += part[lid * LANES + i]; }
        s = u * P.scale;
        if (P.softcap > 0.0) { s = P.softcap * tanh_safe(s / P.softcap); }
      }
      sc[lid] = s;
    }
    workgroupBarrier();
    // every invocation reads the chunk's scores (uniform loop bounds: no divergence)
    let cnt = min(KEYS, k1 - j0);
    var cm = NEG;
    for (var i = 0u; i < cnt; i++) { cm = max(cm, sc[i]); }
    let newM = max(M, cm);
    let alpha = exp(M - newM);
    var ps = 0.0;
    var a = 0.0;
    for (var i = 0u; i < cnt; i++) {
      let p = exp(sc[i] - newM);
      ps += p;
      if (lid < D) { a += p * val(((j0 + i) % P.capacity) * P.kv_dim + kvo + lid); }
    }
    L = L * alpha + ps;
    acc = acc * alpha + a;
    M = newM;
    workgroupBarrier(); // part and sc are rewritten by the next chunk
  }
#if SPLIT
  // partial of split z: [M, L, acc[0..D)] (acc not yet divided by L)
  let po = ((r * P.num_heads + h) * P.splits + split) * (D + 2u);
  if (lid == 0u) { out[po] = M; out[po + 1u] = L; }
  if (lid < D) { out[po + 2u + lid] = acc; }
#else
  if (lid < D) { out[qo + lid] = acc / L; }
#endif
}
