// RoPE on half-split pairs, in place: (a, b) = (x[i], x[i + D/2]) -> (a cos - b sin, a sin + b cos).
// cos/sin come from a table [rows][D/2][2] computed on the host in double precision (GPU sin/cos
// are only specified to 2^-11 absolute, and positions reach the tens of thousands).
#include "common/header"
#include "common/grid"
struct Params {
  rows: u32,
  heads: u32,
  head_dim: u32,
  half: u32,
  grid_x: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> tab: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wg, lid, P.grid_x);
  if (i >= P.rows * P.heads * P.half) { return; }
  let j = i % P.half;
  let rh = i / P.half;        // row * heads + head
  let r = rh / P.heads;
  let o = rh * P.head_dim + j;
  let c = tab[(r * P.half + j) * 2u];
  let s = tab[(r * P.half + j) * 2u + 1u];
  let a = x[o];
  let b = x[o + P.half];
  x[o] = a * c - b * s;
  x[o + P.half] = a * s + b * c;
}
