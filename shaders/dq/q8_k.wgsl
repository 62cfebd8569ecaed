// Q8_K: ggml's 292-byte blocks (73 words): word 0 f32 d, words 1..64 int8 quants, then the
// bsums (unused here). x = d q
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let b = k4 >> 6u;
  let base = r * P.row_words + b * 73u;
  return bitcast<f32>(wbuf[base]) * bytes_i(wbuf[base + 1u + (k4 & 63u)]);
}
