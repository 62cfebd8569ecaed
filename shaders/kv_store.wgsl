// Write k, v rows (positions start_pos..) into ring-buffer slots (pos % capacity) of the cache,
// converting to the cache's element type (f16 on the F16 path).
#include "common/header"
#include "common/grid"
struct Params {
  rows: u32,
  kv_dim: u32,
  capacity: u32,
  start_pos: u32,
  grid_x: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> kc: array<half_t>;
@group(0) @binding(4) var<storage, read_write> vc: array<half_t>;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wg, lid, P.grid_x);
  if (i >= P.rows * P.kv_dim) { return; }
  let r = i / P.kv_dim;
  let c = i % P.kv_dim;
  let o = ((P.start_pos + r) % P.capacity) * P.kv_dim + c;
  kc[o] = half_t(k[i]);
  vc[o] = half_t(v[i]);
}
