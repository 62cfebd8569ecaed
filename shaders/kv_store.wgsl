// Write k, v rows (positions start_pos..) into ring-buffer slots (pos % capacity) of the cache,
// converting to the cache's element type (header: kv_t, or KVP: f16 pairs, one per invocation;
// kv_dim is even).
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
#if KVP
@group(0) @binding(3) var<storage, read_write> kc: array<u32>;
@group(0) @binding(4) var<storage, read_write> vc: array<u32>;
#else
@group(0) @binding(3) var<storage, read_write> kc: array<kv_t>;
@group(0) @binding(4) var<storage, read_write> vc: array<kv_t>;
#endif

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
#if KVP
  let i = 2u * linear_id(wg, lid, P.grid_x);
#else
  let i = linear_id(wg, lid, P.grid_x);
#endif
  if (i >= P.rows * P.kv_dim) { return; }
  let r = i / P.kv_dim;
  let c = i % P.kv_dim;
  let o = ((P.start_pos + r) % P.capacity) * P.kv_dim + c;
#if KVP
  kc[o / 2u] = pack2x16float(vec2<f32>(k[i], k[i + 1u]));
  vc[o / 2u] = pack2x16float(vec2<f32>(v[i], v[i + 1u]));
#else
  kc[o] = kv_t(k[i]);
  vc[o] = kv_t(v[i]);
#endif
}
