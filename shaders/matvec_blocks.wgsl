// Matrix-vector product for decode (1..4 activation rows) over ggml blocks, for GPUs with
// subgroups. Decode matrices are small next to a GPU (a 1B layer's are 0.3-8 MB), so the kernel
// is built for parallelism rather than reuse: P.lanes invocations (8..{{WG}}) share a weight row
// and each takes units of 8 quants, u = lane, lane + lanes, ... (dqb/{{DTYPE}}: unit_dot), so a
// row is read in about one or two rounds of loads. Partial sums meet by subgroupShuffleXor
// within a subgroup, then, when a row spans several subgroups (CROSS), in workgroup memory.
// A workgroup holds {{WG}} / lanes rows; the host picks lanes from the row length.
#include "common/header"
#include "common/matmul_uniforms"
@group(0) @binding(1) var<storage, read> wbuf: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
#include "dq/common"
// the weight accessors of dqb/*: one weight here (sel is always 0)
fn wrow(sel: u32, r: u32) -> u32 { return r * P.row_words; }
fn wword(sel: u32, i: u32) -> u32 { return wbuf[i]; }
fn wscale(sel: u32, r: u32, b: u32) -> f32 { return half_at(r * (P.nb / GROUPS) + b); }
fn xcols() -> u32 { return P.k; }
#include "dqb/{{DTYPE}}"

#if CROSS
var<workgroup> red: array<f32, {{WG}}>;
#endif

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32) {
  let lane = lid % P.lanes;
  let m = (wg.x + wg.y * P.grid_x) * ({{WG}}u / P.lanes) + lid / P.lanes;
  let ok = m < P.m_rows;
  let units = P.nb * 4u;
  let sg = min(P.lanes, sgs);     // lanes of a row within one subgroup
  for (var n = 0u; n < P.n_rows; n++) {
    var s = 0.0;
    if (ok) {
      for (var u = lane; u < units; u += P.lanes) { s += unit_dot(0u, m, u, n); }
    }
    for (var o = sg / 2u; o > 0u; o >>= 1u) { s += subgroupShuffleXor(s, o); }
#if CROSS
    // one partial per (row, subgroup part): slot lid / sg; a row owns lanes / sg slots
    if (sgi % sg == 0u) { red[lid / sg] = s; }
    workgroupBarrier();
    if (ok && lane == 0u) {
      var t = 0.0;
      let first = lid / sg;
      for (var i = 0u; i < P.lanes / sg; i++) { t += red[first + i]; }
      out[n * P.out_cols + P.row_base + m] = t;
    }
    workgroupBarrier(); // red is rewritten for the next activation row
#else
    if (ok && lane == 0u) { out[n * P.out_cols + P.row_base + m] = s; } // lanes <= subgroup size
#endif
  }
}
