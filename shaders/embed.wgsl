// Embedding gather: out[t, :] = dequant(table[tokens[t], :]) * scale, for the tokens whose row
// lies in this chunk of the table (one dispatch per chunk). One invocation per 4 columns.
#include "common/header"
#include "common/grid"
struct Params {
  n_tok: u32,
  cols: u32,
  k4: u32,        // ceil(cols / 4)
  row_base: u32,  // first table row in this chunk
  m_rows: u32,    // table rows in this chunk
  scale: f32,
  row_words: u32,
  scale_off: u32,
  nb: u32,
  grid_x: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> wbuf: array<u32>;
@group(0) @binding(2) var<storage, read> tokens: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
#include "dq/common"
#include "dq/{{DTYPE}}"

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wg, lid, P.grid_x);
  if (i >= P.n_tok * P.k4) { return; }
  let t = i / P.k4;
  let k4 = i % P.k4;
  let tok = tokens[t];
  if (tok < P.row_base || tok >= P.row_base + P.m_rows) { return; }
  let v = dq4(tok - P.row_base, k4) * P.scale;
  let o = t * P.cols + k4 * 4u;
  let e = k4 * 4u;
  out[o] = v.x;
  if (e + 1u < P.cols) { out[o + 1u] = v.y; }
  if (e + 2u < P.cols) { out[o + 2u] = v.z; }
  if (e + 3u < P.cols) { out[o + 3u] = v.w; }
}
