// F16 rows (2 per word, low half first), padded to a multiple of 4 elements
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let o = r * P.row_words + k4 * 2u;
  return vec4<f32>(unpack2x16float(wbuf[o]), unpack2x16float(wbuf[o + 1u]));
}
