// Q8_0: blocks of 32 int8 (8 words) in the quant section, f16 d in the scale section.
// x = q * d (exact in f32: 8-bit times 11-bit mantissa)
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let b = k4 >> 3u;            // 8 groups of 4 per block
  let w = wbuf[r * P.row_words + b * 8u + (k4 & 7u)];
  return bytes_i(w) * half_at(r * P.nb + b);
}
