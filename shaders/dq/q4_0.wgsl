// Q4_0: blocks of 16 bytes (4 words) of nibbles, f16 d in the scale section.
// Element j < 16 is the low nibble of byte j, element j + 16 the high nibble; x = (q - 8) d
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let b = k4 >> 3u;
  let j = (k4 & 7u) * 4u;        // first element within the block
  let w = wbuf[r * P.row_words + b * 4u + ((j & 15u) >> 2u)];
  let sh = select(0u, 4u, j >= 16u);
  let q = vec4<f32>(bytes_u(w >> sh) & vec4<u32>(15u));
  return (q - 8.0) * half_at(r * P.nb + b);
}
