// Matrix-vector product for decode (1..4 activation rows): one workgroup per
// weight row; its {{WG}} invocations stride over the row 4 elements at a time (neighbours
// read neighbouring words), then one workgroup reduction per activation row.
// The hot kernel of decoding: it streams every weight byte once per token.
#include "common/header"
#include "common/matmul_params"
#include "dq/common"
#include "dq/{{DTYPE}}"
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
  let m = wg.x + wg.y * P.grid_x;
  if (m >= P.m_rows) { return; } // the whole workgroup leaves together
  // one accumulator per activation row (at most 4; no private arrays, see load_x4)
  var a0 = 0.0;
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
  let R = P.n_rows;
  for (var k4 = lid; k4 < P.k4; k4 += {{WG}}u) {
    let w = dq4(m, k4);
    a0 += dot(w, load_x4(0u, k4));
    if (R > 1u) { a1 += dot(w, load_x4(1u, k4)); }
    if (R > 2u) { a2 += dot(w, load_x4(2u, k4)); }
    if (R > 3u) { a3 += dot(w, load_x4(3u, k4)); }
  }
  // R is uniform, so every invocation takes part in the same reductions
  let o = P.row_base + m;
  let s0 = wg_sum(a0, lid);
  if (lid == 0u) { out[o] = s0; }
  if (R > 1u) { let s = wg_sum(a1, lid); if (lid == 0u) { out[P.out_cols + o] = s; } }
  if (R > 2u) { let s = wg_sum(a2, lid); if (lid == 0u) { out[2u * P.out_cols + o] = s; } }
  if (R > 3u) { let s = wg_sum(a3, lid); if (lid == 0u) { out[3u * P.out_cols + o] = s; } }
}
