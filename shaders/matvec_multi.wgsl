// Decode matrix-vector products of several weights that share their input, in one dispatch
// (as matvec_blocks.wgsl: P.lanes invocations per row, units of 8 quants, subgroup shuffles
// then workgroup memory; the weights have the same format and row length):
//   QKV (default): out_s = x W_s^T for s = 0, 1, 2 (the attention projections); lane group g
//                  takes row g of the rows of W_0, then W_1, then W_2, one after the other
//   GEGLU:         out = gelu_tanh(x W_0^T) * (x W_1^T) (the gate and up projections of the
//                  feed-forward block); lane group g takes row g of both weights
#include "common/header"
#include "common/gelu"
struct Params {
  n_rows: u32,    // activation rows (1..4)
  k: u32,         // row length
  nb: u32,        // blocks per row
  row_words: u32,
  lanes: u32,
  grid_x: u32,
  m0: u32,        // rows of each weight
  m1: u32,
  m2: u32,
  so0: u32,       // word offset of each weight's scale section
  so1: u32,
  so2: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> w0: array<u32>;
@group(0) @binding(2) var<storage, read> w1: array<u32>;
#if GEGLU
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out0: array<f32>;
#else
@group(0) @binding(3) var<storage, read> w2: array<u32>;
@group(0) @binding(4) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out0: array<f32>;
@group(0) @binding(6) var<storage, read_write> out1: array<f32>;
@group(0) @binding(7) var<storage, read_write> out2: array<f32>;
#endif
#include "dq/bytes"

// the weight accessors of dqb/* (sel: which weight; the same for a whole lane group)
fn wrow(sel: u32, r: u32) -> u32 { return r * P.row_words; }
fn wword(sel: u32, i: u32) -> u32 {
  if (sel == 0u) { return w0[i]; }
#if GEGLU
  return w1[i];
#else
  if (sel == 1u) { return w1[i]; }
  return w2[i];
#endif
}
fn wscale(sel: u32, r: u32, b: u32) -> f32 {
  let gb = r * (P.nb / GROUPS) + b;   // P.nb counts groups of 32; b is a block
  var so = P.so0;
  if (sel == 1u) { so = P.so1; }
  if (sel == 2u) { so = P.so2; }
  let h = unpack2x16float(wword(sel, so + (gb >> 1u)));
  return select(h.x, h.y, (gb & 1u) == 1u);
}
fn xcols() -> u32 { return P.k; }
#include "dqb/{{DTYPE}}"

#if CROSS
var<workgroup> red: array<f32, {{WG}}>;
#if GEGLU
var<workgroup> red1: array<f32, {{WG}}>;
#endif
#endif

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32) {
  let lane = lid % P.lanes;
  let g = (wg.x + wg.y * P.grid_x) * ({{WG}}u / P.lanes) + lid / P.lanes;
#if GEGLU
  let total = P.m0;
  let sel = 0u;
  let m = g;
#else
  let total = P.m0 + P.m1 + P.m2;
  var sel = 0u;
  var m = g;
  if (m >= P.m0) { sel = 1u; m -= P.m0; }
  if (sel == 1u && m >= P.m1) { sel = 2u; m -= P.m1; }
#endif
  let ok = g < total;
  let units = P.nb * 4u;
  let sg = min(P.lanes, sgs);
  for (var n = 0u; n < P.n_rows; n++) {
    var s = 0.0;
#if GEGLU
    var s1 = 0.0;
#endif
    if (ok) {
      for (var u = lane; u < units; u += P.lanes) {
        s += unit_dot(sel, m, u, n);
#if GEGLU
        s1 += unit_dot(1u, m, u, n);
#endif
      }
    }
    for (var o = sg / 2u; o > 0u; o >>= 1u) {
      s += subgroupShuffleXor(s, o);
#if GEGLU
      s1 += subgroupShuffleXor(s1, o);
#endif
    }
#if CROSS
    if (sgi % sg == 0u) {
      red[lid / sg] = s;
#if GEGLU
      red1[lid / sg] = s1;
#endif
    }
    workgroupBarrier();
#endif
    if (ok && lane == 0u) {
#if CROSS
      var t = 0.0;
      let first = lid / sg;
      for (var i = 0u; i < P.lanes / sg; i++) { t += red[first + i]; }
#else
      let t = s; // lanes <= subgroup size
#endif
#if GEGLU
#if CROSS
      var t1 = 0.0;
      for (var i = 0u; i < P.lanes / sg; i++) { t1 += red1[first + i]; }
#else
      let t1 = s1;
#endif
      out0[n * P.m0 + m] = gelu_tanh(t) * t1;
#else
      if (sel == 0u) { out0[n * P.m0 + m] = t; }
      if (sel == 1u) { out1[n * P.m1 + m] = t; }
      if (sel == 2u) { out2[n * P.m2 + m] = t; }
#endif
    }
#if CROSS
    workgroupBarrier(); // red is rewritten for the next activation row
#endif
  }
}
