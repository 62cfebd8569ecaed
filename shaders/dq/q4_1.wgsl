// Q4_1: blocks of 16 nibble bytes (4 words); (d, m) in the scale section.
// Element j < 16 is the low nibble of byte j, element j + 16 the high nibble; x = q d + m
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let b = k4 >> 3u;
  let j = (k4 & 7u) * 4u;
  let w = wbuf[r * P.row_words + b * 4u + ((j & 15u) >> 2u)];
  let q = vec4<f32>(bytes_u(w >> select(0u, 4u, j >= 16u)) & vec4<u32>(15u));
  let dm = side_dm(r * P.nb + b);
  return q * dm.x + dm.y;
}
