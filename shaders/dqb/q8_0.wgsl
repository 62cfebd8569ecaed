// Q8_0 block b of chunk row r dotted with its 32 activations: 32 int8 quants (8 words = two
// vec4<u32>) times the f16 d from the scale section (see dq/q8_0.wgsl for the element layout).
fn blk_dot(r: u32, b: u32, v: XB) -> f32 {
  let q = (r * P.row_words + b * 8u) / 4u;
  let w0 = wq[q];
  let w1 = wq[q + 1u];
  var s = dot(bytes_i(w0.x), v.x0) + dot(bytes_i(w0.y), v.x1);
  s += dot(bytes_i(w0.z), v.x2) + dot(bytes_i(w0.w), v.x3);
  s += dot(bytes_i(w1.x), v.x4) + dot(bytes_i(w1.y), v.x5);
  s += dot(bytes_i(w1.z), v.x6) + dot(bytes_i(w1.w), v.x7);
  return s * half_at(r * P.nb + b);
}
