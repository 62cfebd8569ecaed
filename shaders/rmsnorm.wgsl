// RMSNorm of `groups` chunks of n values: y = x / sqrt(mean(x^2) + eps) * w (w = 1 + w_hf,
// any weight dtype, read through dq4). One workgroup per chunk. INPLACE: out is x.
#include "common/header"
struct Params {
  groups: u32,
  n: u32,
  eps: f32,
  grid_x: u32,
  row_words: u32,
  scale_off: u32,
  nb: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> wbuf: array<u32>;
#if INPLACE
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
fn ld(i: u32) -> f32 { return out[i]; }
#else
@group(0) @binding(2) var<storage, read> xin: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
fn ld(i: u32) -> f32 { return xin[i]; }
#endif
#include "dq/common"
#include "dq/{{DTYPE}}"
#include "common/reduce"

// v[c] without dynamic vector indexing (slow to compile on lavapipe)
fn pick(v: vec4<f32>, c: u32) -> f32 {
  return select(select(v.x, v.y, c == 1u), select(v.z, v.w, c == 3u), c >= 2u);
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
  let g = wg.x + wg.y * P.grid_x;
  if (g >= P.groups) { return; }
  let base = g * P.n;
  var ss = 0.0;
  for (var i = lid; i < P.n; i += {{WG}}u) { let v = ld(base + i); ss += v * v; }
  let inv = 1.0 / sqrt(wg_sum(ss, lid) / f32(P.n) + P.eps);
  for (var i = lid; i < P.n; i += {{WG}}u) {
    out[base + i] = ld(base + i) * inv * pick(dq4(0u, i >> 2u), i & 3u);
  }
}
