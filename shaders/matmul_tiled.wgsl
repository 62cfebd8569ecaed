// Tiled matrix-matrix product for prefill: a workgroup of 16x16 invocations computes a
// 64 (weight rows) x 64 (tokens) tile of out, 4x4 outputs per invocation (weight rows
// tx + 16i, tokens ty + 16j). Per step of 16 along k, every invocation dequantizes one vec4 of
// weights and loads one vec4 of activations into workgroup memory (f16 on the F16 path,
// halving it); accumulation is always f32.
// Tiles are scalar arrays stored k-major ([k][row]), so neighbouring invocations read
// neighbouring words; scalar rather than vec4 tiles and no indexing of private arrays keep
// the kernel quick to compile on CPU drivers (lavapipe took 8 s for the vec4 version).
#include "common/header"
#include "common/matmul_params"
#include "dq/common"
#include "dq/{{DTYPE}}"

const TM = 64u;   // weight rows per tile
const TN = 64u;   // tokens per tile
const TK = 16u;   // k per step

var<workgroup> Ws: array<half_t, 1024>;  // [TK][TM]
var<workgroup> Xs: array<half_t, 1024>;  // [TK][TN]

fn put(n: u32, m: u32, v: f32) {
  if (n < P.n_rows && m < P.m_rows) { out[n * P.out_cols + P.row_base + m] = v; }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li3: vec3<u32>) {
  let tx = li3.x;
  let ty = li3.y;
  let li = ty * 16u + tx;
  let m0 = wg.x * TM;
  let n0 = wg.y * TN;
  // a_i[j] = out[token ty + 16j, weight row tx + 16i]
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  let lr = li / 4u;          // tile row this invocation loads
  let lk = (li % 4u) * 4u;   // and its first k within the step
  for (var kb = 0u; kb < P.k4; kb += 4u) {
    let kk = kb + li % 4u;
    var w = vec4<f32>(0.0);
    if (m0 + lr < P.m_rows && kk < P.k4) { w = dq4(m0 + lr, kk); }
    Ws[lk * TM + lr] = half_t(w.x);
    Ws[(lk + 1u) * TM + lr] = half_t(w.y);
    Ws[(lk + 2u) * TM + lr] = half_t(w.z);
    Ws[(lk + 3u) * TM + lr] = half_t(w.w);
    var xv = vec4<f32>(0.0);
    if (n0 + lr < P.n_rows && kk < P.k4) { xv = load_x4(n0 + lr, kk); }
    Xs[lk * TN + lr] = half_t(xv.x);
    Xs[(lk + 1u) * TN + lr] = half_t(xv.y);
    Xs[(lk + 2u) * TN + lr] = half_t(xv.z);
    Xs[(lk + 3u) * TN + lr] = half_t(xv.w);
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let xs = vec4<f32>(f32(Xs[k * TN + ty]), f32(Xs[k * TN + ty + 16u]), f32(Xs[k * TN + ty + 32u]), f32(Xs[k * TN + ty + 48u]));
      a0 += f32(Ws[k * TM + tx]) * xs;
      a1 += f32(Ws[k * TM + tx + 16u]) * xs;
      a2 += f32(Ws[k * TM + tx + 32u]) * xs;
      a3 += f32(Ws[k * TM + tx + 48u]) * xs;
    }
    workgroupBarrier();
  }
  let m = m0 + tx;
  let n = n0 + ty;
  put(n, m, a0.x); put(n + 16u, m, a0.y); put(n + 32u, m, a0.z); put(n + 48u, m, a0.w);
  put(n, m + 16u, a1.x); put(n + 16u, m + 16u, a1.y); put(n + 32u, m + 16u, a1.z); put(n + 48u, m + 16u, a1.w);
  put(n, m + 32u, a2.x); put(n + 16u, m + 32u, a2.y); put(n + 32u, m + 32u, a2.z); put(n + 48u, m + 32u, a2.w);
  put(n, m + 48u, a3.x); put(n + 16u, m + 48u, a3.y); put(n + 32u, m + 48u, a3.z); put(n + 48u, m + 48u, a3.w);
}
