// Uniforms of the matrix kernels: out[n, row_base + m] = sum_k x[n, k] * W[m, k] for the
// weight rows m < m_rows of one chunk (src/kernels/webgpu/ops/matmul.ts fills them).
struct Params {
  n_rows: u32,    // activation rows (tokens)
  k: u32,         // inner dimension
  k4: u32,        // ceil(k / 4)
  m_rows: u32,    // weight rows in this chunk
  row_base: u32,  // first weight row of the chunk = first output column it writes
  out_cols: u32,  // columns of out (rows of the whole weight)
  row_words: u32, // weight layout, see dq/common.wgsl
  scale_off: u32,
  nb: u32,
  grid_x: u32,    // workgroups along x
  rows_per_wg: u32, // matvec: weight rows per workgroup
  lanes: u32,     // matvec_blocks: invocations per weight row
}
@group(0) @binding(0) var<uniform> P: Params;
