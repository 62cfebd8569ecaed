// Q8_0 block b of chunk row r dotted with x[n, 32b .. 32b+31]: 32 int8 quants (8 words = two
// vec4<u32>) times the f16 d from the scale section (see dq/q8_0.wgsl for the element layout).
fn blk_dot(r: u32, b: u32, n: u32) -> f32 {
  let q = (r * P.row_words + b * 8u) / 4u;
  let xo = (n * P.k) / 4u + b * 8u;
  let w0 = wq[q];
  let w1 = wq[q + 1u];
  var s = dot(bytes_i(w0.x), x[xo]) + dot(bytes_i(w0.y), x[xo + 1u]);
  s += dot(bytes_i(w0.z), x[xo + 2u]) + dot(bytes_i(w0.w), x[xo + 3u]);
  s += dot(bytes_i(w1.x), x[xo + 4u]) + dot(bytes_i(w1.y), x[xo + 5u]);
  s += dot(bytes_i(w1.z), x[xo + 6u]) + dot(bytes_i(w1.w), x[xo + 7u]);
  return s * half_at(r * P.nb + b);
}
