// The residual step of a block and the next block's input norm, one workgroup per row:
//   y = POST ? RMSNorm(o) * w_post : o;   h = h + y;   x = RMSNorm(h) * w_next
// (RMSNorm(v) = v / sqrt(mean(v^2) + eps); weights are f32 full multipliers 1 + w). Each
// reduction is one workgroup sum; h is written and read back by the same invocation.
#include "common/header"
#include "common/grid"
struct Params {
  rows: u32,
  n: u32,
  eps: f32,
  grid_x: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> h: array<f32>;
@group(0) @binding(2) var<storage, read> o: array<f32>;
@group(0) @binding(3) var<storage, read> w_next: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
#if POST
@group(0) @binding(5) var<storage, read> w_post: array<f32>;
#endif
#include "common/reduce"

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
  let r = wg.x + wg.y * P.grid_x;
  if (r >= P.rows) { return; }
  let base = r * P.n;
#if POST
  var so = 0.0;
  for (var i = lid; i < P.n; i += {{WG}}u) { let v = o[base + i]; so += v * v; }
  let inv_o = 1.0 / sqrt(wg_sum(so, lid) / f32(P.n) + P.eps);
#endif
  var sh = 0.0;
  for (var i = lid; i < P.n; i += {{WG}}u) {
#if POST
    let y = o[base + i] * inv_o * w_post[i];
#else
    let y = o[base + i];
#endif
    let v = h[base + i] + y;
    h[base + i] = v;
    sh += v * v;
  }
  let inv_h = 1.0 / sqrt(wg_sum(sh, lid) / f32(P.n) + P.eps);
  for (var i = lid; i < P.n; i += {{WG}}u) { x[base + i] = h[base + i] * inv_h * w_next[i]; }
}
