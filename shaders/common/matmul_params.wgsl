// Uniforms of both matrix kernels: out[n, row_base + m] = sum_k x[n, k] * W[m, k] for the
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
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> wbuf: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// x[i] when ok, else 0
fn x_or0(i: u32, ok: bool) -> f32 {
  if (ok) { return x[i]; }
  return 0.0;
}

// x[n, 4*k4 .. 4*k4+3], zeros past the end of the row.
// (No dynamic indexing of vectors or private arrays in these kernels: lavapipe compiles it
// into per-lane gathers and takes seconds per pipeline.)
fn load_x4(n: u32, k4: u32) -> vec4<f32> {
  let o = n * P.k + k4 * 4u;
  let e = k4 * 4u;
  if (e + 4u <= P.k) { return vec4<f32>(x[o], x[o + 1u], x[o + 2u], x[o + 3u]); }
  return vec4<f32>(x_or0(o, e < P.k), x_or0(o + 1u, e + 1u < P.k), x_or0(o + 2u, e + 2u < P.k), 0.0);
}
