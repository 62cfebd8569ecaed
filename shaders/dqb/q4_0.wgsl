// Q4_0 block b of chunk row r dotted with x[n, 32b .. 32b+31]: 16 bytes of nibbles (one
// vec4<u32>); byte j holds element j (low nibble) and j + 16 (high), value (q - 8) d, so
//   sum_j (q_j - 8) d x_j = d (sum_j q_j x_j - 8 sum_j x_j).
fn nib_lo(w: u32) -> vec4<f32> { return vec4<f32>(bytes_u(w) & vec4<u32>(15u)); }
fn nib_hi(w: u32) -> vec4<f32> { return vec4<f32>(bytes_u(w >> 4u) & vec4<u32>(15u)); }
fn blk_dot(r: u32, b: u32, n: u32) -> f32 {
  let w = wq[(r * P.row_words + b * 4u) / 4u];
  let xo = (n * P.k) / 4u + b * 8u;
  let x0 = x[xo]; let x1 = x[xo + 1u]; let x2 = x[xo + 2u]; let x3 = x[xo + 3u];
  let x4 = x[xo + 4u]; let x5 = x[xo + 5u]; let x6 = x[xo + 6u]; let x7 = x[xo + 7u];
  var s = dot(nib_lo(w.x), x0) + dot(nib_lo(w.y), x1) + dot(nib_lo(w.z), x2) + dot(nib_lo(w.w), x3);
  s += dot(nib_hi(w.x), x4) + dot(nib_hi(w.y), x5) + dot(nib_hi(w.z), x6) + dot(nib_hi(w.w), x7);
  let xs = (x0 + x1) + (x2 + x3) + (x4 + x5) + (x6 + x7);
  return (s - 8.0 * (xs.x + xs.y + xs.z + xs.w)) * half_at(r * P.nb + b);
}
