#include "common/matmul_uniforms"
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
