// Matrix-vector product for decode (1..4 activation rows) over whole ggml blocks, for GPUs with
// subgroups. A lane group of P.lanes invocations (8, 16 or 32, dividing the subgroup size) owns
// 4 consecutive weight rows; invocation `lane` takes blocks lane, lane + lanes, ... of all four:
// it loads the activations of a block once (8 vec4<f32>) and dots them with the block of each
// row (dqb/{{DTYPE}}: the quants as vec4<u32>), so x is read once per 4 rows and a whole block's
// loads are in flight at a time. The lanes' partial sums meet by subgroupShuffleXor butterflies
// within the group (no workgroup memory, no barriers). A workgroup holds {{WG}} / lanes groups.
// The host picks lanes from the row length and uses matvec.wgsl where this kernel does not apply.
#include "common/header"
#include "common/matmul_uniforms"
@group(0) @binding(1) var<storage, read> wbuf: array<u32>;       // scale section (half_at)
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> wq: array<vec4<u32>>;   // the same buffer: quant section
#include "dq/common"

// the 32 activations of one block (a struct, not an array: no dynamic indexing)
struct XB { x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32> }
fn load_xb(n: u32, b: u32) -> XB {
  let o = (n * P.k) / 4u + b * 8u;
  return XB(x[o], x[o + 1u], x[o + 2u], x[o + 3u], x[o + 4u], x[o + 5u], x[o + 6u], x[o + 7u]);
}
#include "dqb/{{DTYPE}}"

// butterfly sum over the lane group (every lane of the group gets the total)
fn group_sum(v: f32) -> f32 {
  var s = v;
  for (var o = P.lanes / 2u; o > 0u; o >>= 1u) { s += subgroupShuffleXor(s, o); }
  return s;
}

const ROWS = 4u; // weight rows per lane group

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let grp = (wg.x + wg.y * P.grid_x) * ({{WG}}u / P.lanes) + lid / P.lanes;
  let m0 = grp * ROWS;
  let lane = lid % P.lanes;
  if (m0 >= P.m_rows) { return; } // the whole lane group leaves together
  let more = min(P.m_rows - m0, ROWS); // rows of this group (the last group may have fewer)
  for (var n = 0u; n < P.n_rows; n++) {
    var s0 = 0.0;
    var s1 = 0.0;
    var s2 = 0.0;
    var s3 = 0.0;
    for (var b = lane; b < P.nb; b += P.lanes) {
      let xb = load_xb(n, b);
      s0 += blk_dot(m0, b, xb);
      if (more > 1u) { s1 += blk_dot(m0 + 1u, b, xb); }
      if (more > 2u) { s2 += blk_dot(m0 + 2u, b, xb); }
      if (more > 3u) { s3 += blk_dot(m0 + 3u, b, xb); }
    }
    s0 = group_sum(s0);
    s1 = group_sum(s1);
    s2 = group_sum(s2);
    s3 = group_sum(s3);
    if (lane == 0u) {
      let o = n * P.out_cols + P.row_base + m0;
      out[o] = s0;
      if (more > 1u) { out[o + 1u] = s1; }
      if (more > 2u) { out[o + 2u] = s2; }
      if (more > 3u) { out[o + 3u] = s3; }
    }
  }
}
