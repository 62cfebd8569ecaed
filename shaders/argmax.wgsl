// Index of the largest value of each row, first one on ties; NaN never wins and a row of
// -inf/NaN gives 0 (as the reference). One workgroup per row; a tree over (value, index).
// TOPK: one step of top-k selection on a scratch copy of the rows: record the winner of step
// P.step in res (ids in [0, rows*k), value bits in [rows*k, 2*rows*k)) and mask it with NaN;
// a row with nothing left records id -1 and value -inf.
#include "common/header"
struct Params {
  rows: u32,
  cols: u32,
  k: u32,
  step: u32,
  nan_bits: u32,     // 0x7fc00000 (NaN cannot be written as a WGSL constant)
  neg_inf_bits: u32, // 0xff800000
}
@group(0) @binding(0) var<uniform> P: Params;
#if TOPK
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> res: array<u32>;

#include "common/best"

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wg.x;
  var v = 0.0;
  var idx = NONE;
  for (var c = lid; c < P.cols; c += {{WG}}u) {
    let y = x[r * P.cols + c];
    if (selectable(y) && (idx == NONE || y > v)) { v = y; idx = c; }
  }
  wg_best(v, idx, lid);
  if (lid == 0u) {
#if TOPK
    let o = r * P.k + P.step;
    if (bi[0] == NONE) {
      res[o] = NONE;
      res[P.rows * P.k + o] = P.neg_inf_bits;
    } else {
      res[o] = bi[0];
      res[P.rows * P.k + o] = bitcast<u32>(bv[0]);
      x[r * P.cols + bi[0]] = bitcast<f32>(P.nan_bits);
    }
#else
    res[r] = select(bi[0], 0u, bi[0] == NONE);
#endif
  }
}
