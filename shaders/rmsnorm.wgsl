// RMSNorm of `groups` chunks of n values: y = x / sqrt(mean(x^2) + eps) * w (w = 1 + w_hf,
// any weight dtype, read through dq4). One workgroup per chunk ({{WG}} invocations: 64 for
// short chunks such as heads, 256 for hidden states). INPLACE: out is x.
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

// x[base + 4*i4 .. +3] (zeros past n: rows need not be a multiple of 4 long)
fn ld4(base: u32, i4: u32) -> vec4<f32> {
  let e = 4u * i4;
  let o = base + e;
  if (e + 4u <= P.n) { return vec4<f32>(ld(o), ld(o + 1u), ld(o + 2u), ld(o + 3u)); }
  var v = vec4<f32>(ld(o), 0.0, 0.0, 0.0);
  if (e + 1u < P.n) { v.y = ld(o + 1u); }
  if (e + 2u < P.n) { v.z = ld(o + 2u); }
  return v;
}

// Each invocation takes groups of 4 values (neighbouring invocations, neighbouring groups): the
// sum of squares, one workgroup reduction, then the scaled values times the weight's dq4.
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
  let n4 = (P.n + 3u) / 4u;
  var ss = 0.0;
  for (var i4 = lid; i4 < n4; i4 += {{WG}}u) { let v = ld4(base, i4); ss += dot(v, v); }
  let inv = 1.0 / sqrt(wg_sum(ss, lid) / f32(P.n) + P.eps);
  for (var i4 = lid; i4 < n4; i4 += {{WG}}u) {
    let y = ld4(base, i4) * inv * dq4(0u, i4);
    let o = base + 4u * i4;
    out[o] = y.x;
    if (4u * i4 + 1u < P.n) { out[o + 1u] = y.y; }
    if (4u * i4 + 2u < P.n) { out[o + 2u] = y.z; }
    if (4u * i4 + 3u < P.n) { out[o + 3u] = y.w; }
  }
}
