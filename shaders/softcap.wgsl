// In-place soft-cap: x = cap * tanh(x / cap)
#include "common/header"
#include "common/grid"
#include "common/gelu"
struct Params {
  n: u32,
  grid_x: u32,
  cap: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wg, lid, P.grid_x);
  if (i >= P.n) { return; }
  x[i] = P.cap * tanh_safe(x[i] / P.cap);
}
