// Matrix-vector product for decode (1..4 activation rows) over whole ggml blocks, for GPUs with
// subgroups: P.lanes invocations (8, 16 or 32, dividing the subgroup size) share a weight row;
// invocation `lane` takes blocks lane, lane + lanes, ... and dqb/{{DTYPE}} dots each block with
// the activations using 16-byte loads (the block's quants as vec4<u32>, x as vec4<f32>), so one
// invocation has a whole block's loads in flight instead of one word's. The lanes' partial sums
// meet by subgroupShuffleXor butterflies within the lane group (no workgroup memory, no
// barriers). A workgroup holds {{WG}} / lanes rows. The host picks lanes from the row length
// (blocks per lane >= 2) and uses matvec.wgsl where this kernel does not apply.
#include "common/header"
#include "common/matmul_uniforms"
@group(0) @binding(1) var<storage, read> wbuf: array<u32>;       // scale section (half_at)
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> wq: array<vec4<u32>>;   // the same buffer: quant section
#include "dq/common"
#include "dqb/{{DTYPE}}"

// butterfly sum over the lane group (every lane of the group gets the total)
fn group_sum(v: f32) -> f32 {
  var s = v;
  for (var o = P.lanes / 2u; o > 0u; o >>= 1u) { s += subgroupShuffleXor(s, o); }
  return s;
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m = (wg.x + wg.y * P.grid_x) * P.rows_per_wg + lid / P.lanes;
  let lane = lid % P.lanes;
  if (m >= P.m_rows) { return; } // the whole lane group leaves together
  let R = P.n_rows;
  var a0 = 0.0;
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
  for (var b = lane; b < P.nb; b += P.lanes) {
    a0 += blk_dot(m, b, 0u);
    if (R > 1u) { a1 += blk_dot(m, b, 1u); }
    if (R > 2u) { a2 += blk_dot(m, b, 2u); }
    if (R > 3u) { a3 += blk_dot(m, b, 3u); }
  }
  a0 = group_sum(a0);
  if (R > 1u) { a1 = group_sum(a1); }
  if (R > 2u) { a2 = group_sum(a2); }
  if (R > 3u) { a3 = group_sum(a3); }
  if (lane == 0u) {
    let o = P.row_base + m;
    out[o] = a0;
    if (R > 1u) { out[P.out_cols + o] = a1; }
    if (R > 2u) { out[2u * P.out_cols + o] = a2; }
    if (R > 3u) { out[3u * P.out_cols + o] = a3; }
  }
}
