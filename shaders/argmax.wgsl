// Index of the largest value of each row, first one on ties; NaN never wins and a row of
// -inf/NaN gives 0 (as the reference). One workgroup per row; a tree over (value, index).
#include "common/header"
struct Params {
  rows: u32,
  cols: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> res: array<u32>;

const NONE = 0xffffffffu;
var<workgroup> bv: array<f32, {{WG}}>;
var<workgroup> bi: array<u32, {{WG}}>;

// does (v2, i2) beat (v1, i1)?
fn beats(v2: f32, i2: u32, v1: f32, i1: u32) -> bool {
  if (i2 == NONE) { return false; }
  if (i1 == NONE) { return true; }
  return v2 > v1 || (v2 == v1 && i2 < i1);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wg.x;
  var v = 0.0;
  var idx = NONE;
  for (var c = lid; c < P.cols; c += {{WG}}u) {
    let y = x[r * P.cols + c];
    // -inf and NaN are never taken (y >= -FLT_MAX is false for both)
    if (y >= -0x1.fffffep+127f && (idx == NONE || y > v)) { v = y; idx = c; }
  }
  bv[lid] = v;
  bi[lid] = idx;
  workgroupBarrier();
  for (var s = {{WG}}u / 2u; s > 0u; s >>= 1u) {
    if (lid < s && beats(bv[lid + s], bi[lid + s], bv[lid], bi[lid])) {
      bv[lid] = bv[lid + s];
      bi[lid] = bi[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { res[r] = select(bi[0], 0u, bi[0] == NONE); }
}
