// Elementwise binary ops: OP_ADD out = a + b; OP_GEGLU out = gelu_tanh(a) * b.
// OUT_IS_A / OUT_IS_B: out aliases a / b (bound once, read_write).
#include "common/header"
#include "common/grid"
#include "common/gelu"
struct Params {
  n: u32,
  grid_x: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
#if OUT_IS_A
#if OUT_IS_B
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
fn la(i: u32) -> f32 { return out[i]; }
fn lb(i: u32) -> f32 { return out[i]; }
#else
@group(0) @binding(1) var<storage, read> bb: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
fn la(i: u32) -> f32 { return out[i]; }
fn lb(i: u32) -> f32 { return bb[i]; }
#endif
#else
#if OUT_IS_B
@group(0) @binding(1) var<storage, read> aa: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
fn la(i: u32) -> f32 { return aa[i]; }
fn lb(i: u32) -> f32 { return out[i]; }
#else
@group(0) @binding(1) var<storage, read> aa: array<f32>;
@group(0) @binding(2) var<storage, read> bb: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
fn la(i: u32) -> f32 { return aa[i]; }
fn lb(i: u32) -> f32 { return bb[i]; }
#endif
#endif

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wg, lid, P.grid_x);
  if (i >= P.n) { return; }
#if OP_ADD
  out[i] = la(i) + lb(i);
#endif
#if OP_GEGLU
  out[i] = gelu_tanh(la(i)) * lb(i);
#endif
}
