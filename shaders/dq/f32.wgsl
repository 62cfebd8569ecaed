// F32 rows, padded to a multiple of 4 elements with zeros
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let o = r * P.row_words + k4 * 4u;
  return vec4<f32>(bitcast<f32>(wbuf[o]), bitcast<f32>(wbuf[o + 1u]), bitcast<f32>(wbuf[o + 2u]), bitcast<f32>(wbuf[o + 3u]));
}
