// Q8_0 unit u of chunk row r (8 quants: quarter u % 4 of block u / 4, two words read as one
// vec2<u32>) dotted with activation row n; times the block's f16 d (see dq/q8_0.wgsl).
fn unit_dot(r: u32, u: u32, n: u32) -> f32 {
  let b = u >> 2u;
  let i = u & 3u;
  let w = wq2[(r * P.row_words + b * 8u) / 2u + i];
  let xo = (n * P.k) / 4u + b * 8u + 2u * i;
  return (dot(bytes_i(w.x), x[xo]) + dot(bytes_i(w.y), x[xo + 1u])) * half_at(r * P.nb + b);
}
