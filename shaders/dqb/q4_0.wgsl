// Q4_0 block b of chunk row r dotted with its 32 activations: 16 bytes of nibbles (one
// vec4<u32>); byte j holds element j (low nibble) and j + 16 (high), value (q - 8) d, so
//   sum_j (q_j - 8) d x_j = d (sum_j q_j x_j - 8 sum_j x_j).
fn nib_lo(w: u32) -> vec4<f32> { return vec4<f32>(bytes_u(w) & vec4<u32>(15u)); }
fn nib_hi(w: u32) -> vec4<f32> { return vec4<f32>(bytes_u(w >> 4u) & vec4<u32>(15u)); }
fn blk_dot(r: u32, b: u32, v: XB) -> f32 {
  let w = wq[(r * P.row_words + b * 4u) / 4u];
  var s = dot(nib_lo(w.x), v.x0) + dot(nib_lo(w.y), v.x1) + dot(nib_lo(w.z), v.x2) + dot(nib_lo(w.w), v.x3);
  s += dot(nib_hi(w.x), v.x4) + dot(nib_hi(w.y), v.x5) + dot(nib_hi(w.z), v.x6) + dot(nib_hi(w.w), v.x7);
  let xs = (v.x0 + v.x1) + (v.x2 + v.x3) + (v.x4 + v.x5) + (v.x6 + v.x7);
  return (s - 8.0 * (xs.x + xs.y + xs.z + xs.w)) * half_at(r * P.nb + b);
}
