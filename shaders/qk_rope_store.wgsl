// The attention inputs of a batch, one workgroup per (head slot, row): slots [0, H) are the
// query heads, [H, H + G) the key heads. A head is RMS-normed when QKNORM (Gemma 3 QK-norm,
// f32 weights of head_dim), then rotated by RoPE on half-split pairs with cos/sin from the
// host's table [rows][D/2][2] (as rope.wgsl); query heads go back into q, key heads (and the
// matching value heads, copied) into the cache slot of their position (ring buffer).
#include "common/header"
struct Params {
  rows: u32,
  heads: u32,     // H, query heads
  kv_heads: u32,  // G
  head_dim: u32,
  half: u32,
  capacity: u32,
  start_pos: u32,
  eps: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> tab: array<f32>;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
#if KVP
@group(0) @binding(5) var<storage, read_write> kc: array<u32>;
@group(0) @binding(6) var<storage, read_write> vc: array<u32>;
#else
@group(0) @binding(5) var<storage, read_write> kc: array<kv_t>;
@group(0) @binding(6) var<storage, read_write> vc: array<kv_t>;
#endif
#if QKNORM
@group(0) @binding(7) var<storage, read> qn: array<f32>;
@group(0) @binding(8) var<storage, read> kn: array<f32>;
#endif
#include "common/reduce"

// element i of the head's source: q (query slots) or k
fn src(isq: bool, i: u32) -> f32 {
  if (isq) { return q[i]; }
  return k[i];
}
#if QKNORM
fn norm_w(isq: bool, i: u32) -> f32 {
  if (isq) { return qn[i]; }
  return kn[i];
}
#endif

// the pair (j, j + half) of the head at base, normed (QKNORM, inv = 1 / rms) and rotated
fn rotated(isq: bool, base: u32, r: u32, j: u32, inv: f32) -> vec2<f32> {
  var a = src(isq, base + j);
  var b = src(isq, base + j + P.half);
#if QKNORM
  a = a * inv * norm_w(isq, j);
  b = b * inv * norm_w(isq, j + P.half);
#endif
  let c = tab[(r * P.half + j) * 2u];
  let s = tab[(r * P.half + j) * 2u + 1u];
  return vec2<f32>(a * c - b * s, a * s + b * c);
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
  let slot = wg.x;
  let r = wg.y;
  let D = P.head_dim;
  let isq = slot < P.heads;   // the same for the whole workgroup
  let head = select(slot - P.heads, slot, isq);
  let base = select((r * P.kv_heads + head) * D, (r * P.heads + head) * D, isq);
  var inv = 1.0;
#if QKNORM
  var ss = 0.0;
  for (var i = lid; i < D; i += {{WG}}u) {
    let e = src(isq, base + i);
    ss += e * e;
  }
  inv = 1.0 / sqrt(wg_sum(ss, lid) / f32(D) + P.eps);
#endif
  let kvo = ((P.start_pos + r) % P.capacity) * (P.kv_heads * D) + head * D;
#if KVP
  // element pairs (j, j + 1) and (j + half, j + 1 + half): one f16 pair per cache word
  // (head_dim % 4 == 0, so j, half and kvo are even)
  for (var jj = lid; jj < P.half / 2u; jj += {{WG}}u) {
    let j = 2u * jj;
    let e0 = rotated(isq, base, r, j, inv);
    let e1 = rotated(isq, base, r, j + 1u, inv);
    if (isq) {
      q[base + j] = e0.x; q[base + j + 1u] = e1.x;
      q[base + j + P.half] = e0.y; q[base + j + 1u + P.half] = e1.y;
    } else {
      kc[(kvo + j) / 2u] = pack2x16float(vec2<f32>(e0.x, e1.x));
      kc[(kvo + j + P.half) / 2u] = pack2x16float(vec2<f32>(e0.y, e1.y));
      vc[(kvo + j) / 2u] = pack2x16float(vec2<f32>(v[base + j], v[base + j + 1u]));
      vc[(kvo + j + P.half) / 2u] = pack2x16float(vec2<f32>(v[base + j + P.half], v[base + j + 1u + P.half]));
    }
  }
#else
  for (var j = lid; j < P.half; j += {{WG}}u) {
    let e = rotated(isq, base, r, j, inv);
    if (isq) {
      q[base + j] = e.x;
      q[base + j + P.half] = e.y;
    } else {
      kc[kvo + j] = kv_t(e.x);
      kc[kvo + j + P.half] = kv_t(e.y);
      vc[kvo + j] = kv_t(v[base + j]);
      vc[kvo + j + P.half] = kv_t(v[base + j + P.half]);
    }
  }
#endif
}
