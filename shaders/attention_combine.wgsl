// Merge the partial softmaxes of the key splits of attention.wgsl (SPLIT): for each
// (row, head), with M = max_s M_s and weights e_s = exp(M_s - M),
//   out[d] = sum_s e_s acc_s[d] / sum_s e_s L_s
// (an empty split has M_s = -3e38, L_s = 0, acc_s = 0 and weighs nothing).
#include "common/header"
struct Params {
  rows: u32,
  num_heads: u32,
  head_dim: u32,
  splits: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let r = wg.y;
  let D = P.head_dim;
  let base = (r * P.num_heads + h) * P.splits;
  var M = -3.0e38;
  for (var s = 0u; s < P.splits; s++) { M = max(M, part[(base + s) * (D + 2u)]); }
  var L = 0.0;
  for (var s = 0u; s < P.splits; s++) { L += exp(part[(base + s) * (D + 2u)] - M) * part[(base + s) * (D + 2u) + 1u]; }
  let qo = (r * P.num_heads + h) * D;
  for (var d = lid; d < D; d += {{WG}}u) {
    var a = 0.0;
    for (var s = 0u; s < P.splits; s++) {
      let o = (base + s) * (D + 2u);
      a += exp(part[o] - M) * part[o + 2u + d];
    }
    out[qo + d] = a / L;
  }
}
