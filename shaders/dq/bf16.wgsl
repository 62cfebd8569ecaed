// BF16 rows (2 per word): a bf16 is the high half of an f32
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let o = r * P.row_words + k4 * 2u;
  let a = wbuf[o];
  let b = wbuf[o + 1u];
  return vec4<f32>(bitcast<f32>(a << 16u), bitcast<f32>(a & 0xffff0000u), bitcast<f32>(b << 16u), bitcast<f32>(b & 0xffff0000u));
}
