// Q5_0: 5 words per block (qh: bit j = 5th bit of element j; then 16 nibble bytes as Q4_0),
// f16 d in the scale section. x = ((low4 | high << 4) - 16) d
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let b = k4 >> 3u;
  let j = (k4 & 7u) * 4u;
  let base = r * P.row_words + b * 5u;
  let w = wbuf[base + 1u + ((j & 15u) >> 2u)];
  let lo = bytes_u(w >> select(0u, 4u, j >= 16u)) & vec4<u32>(15u);
  let hi = (vec4<u32>(wbuf[base] >> j) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u);
  return (vec4<f32>(lo | (hi << vec4<u32>(4u))) - 16.0) * half_at(r * P.nb + b);
}
