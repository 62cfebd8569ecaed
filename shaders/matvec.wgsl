// Matrix-vector product for decode (1..4 activation rows); the hot kernel of decoding, which
// streams every weight byte once per token. A workgroup handles P.rows_per_wg weight rows.
//  SUBGROUPS: one subgroup per weight row; its lanes stride over the row 4 elements at a time
//             (neighbouring lanes read neighbouring words) and subgroupAdd reduces: no barriers.
//             Rows are assigned by subgroup index lid / subgroup_size, so any subgroup size
//             dividing {{WG}} works (the start-up probe checks subgroups are contiguous).
//  otherwise: 16 invocations per row; partial sums meet in workgroup memory (one barrier).
#include "common/header"
#include "common/matmul_params"
#include "dq/common"
#include "dq/{{DTYPE}}"

// sum over a row segment of dot(W[m, 4k..4k+3], x[n, 4k..4k+3]) for k = k0, k0 + step, ...
struct Acc { a0: f32, a1: f32, a2: f32, a3: f32 }
fn row_dots(m: u32, k0: u32, step: u32) -> Acc {
  // one accumulator per activation row (no private arrays: see load_x4)
  var a = Acc(0.0, 0.0, 0.0, 0.0);
  let R = P.n_rows;
  for (var k4 = k0; k4 < P.k4; k4 += step) {
    let w = dq4(m, k4);
    a.a0 += dot(w, load_x4(0u, k4));
    if (R > 1u) { a.a1 += dot(w, load_x4(1u, k4)); }
    if (R > 2u) { a.a2 += dot(w, load_x4(2u, k4)); }
    if (R > 3u) { a.a3 += dot(w, load_x4(3u, k4)); }
  }
  return a;
}

fn put(m: u32, a: Acc) {
  let o = P.row_base + m;
  out[o] = a.a0;
  if (P.n_rows > 1u) { out[P.out_cols + o] = a.a1; }
  if (P.n_rows > 2u) { out[2u * P.out_cols + o] = a.a2; }
  if (P.n_rows > 3u) { out[3u * P.out_cols + o] = a.a3; }
}

#if SUBGROUPS
@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32) {
  let row0 = (wg.x + wg.y * P.grid_x) * P.rows_per_wg;
  // every lane of a subgroup has the same r, so the subgroup stays converged
  for (var r = lid / sgs; r < P.rows_per_wg; r += {{WG}}u / sgs) {
    let m = row0 + r;
    if (m >= P.m_rows) { break; }
    let a = row_dots(m, sgi, sgs);
    let s = Acc(subgroupAdd(a.a0), subgroupAdd(a.a1), subgroupAdd(a.a2), subgroupAdd(a.a3));
    if (sgi == 0u) { put(m, s); }
  }
}
#else
const T = 16u;                         // invocations per row
var<workgroup> part: array<f32, {{WG}} * 4>; // [activation row][lid]

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m = (wg.x + wg.y * P.grid_x) * P.rows_per_wg + lid / T;
  let t = lid % T;
  var a = Acc(0.0, 0.0, 0.0, 0.0);
  if (m < P.m_rows) { a = row_dots(m, t, T); }
  part[lid] = a.a0;
  part[{{WG}}u + lid] = a.a1;
  part[2u * {{WG}}u + lid] = a.a2;
  part[3u * {{WG}}u + lid] = a.a3;
  workgroupBarrier();
  if (t == 0u && m < P.m_rows) {
    var s = Acc(0.0, 0.0, 0.0, 0.0);
    for (var i = 0u; i < T; i++) {
      s.a0 += part[lid + i];
      s.a1 += part[{{WG}}u + lid + i];
      s.a2 += part[2u * {{WG}}u + lid + i];
      s.a3 += part[3u * {{WG}}u + lid + i];
    }
    put(m, s);
  }
}
#endif
