// Q5_1: ggml's 24-byte blocks (6 words): (d, m), qh, 16 nibble bytes. x = (low4 | high << 4) d + m
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let b = k4 >> 3u;
  let j = (k4 & 7u) * 4u;
  let base = r * P.row_words + b * 6u;
  let dm = unpack2x16float(wbuf[base]);
  let w = wbuf[base + 2u + ((j & 15u) >> 2u)];
  let lo = bytes_u(w >> select(0u, 4u, j >= 16u)) & vec4<u32>(15u);
  let hi = (vec4<u32>(wbuf[base + 1u] >> j) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u);
  return vec4<f32>(lo | (hi << vec4<u32>(4u))) * dm.x + dm.y;
}
