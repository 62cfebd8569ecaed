// Q5_K: ggml's 176-byte super-blocks (44 words): word 0 d, dmin; words 1..3 packed 6-bit
// scales/mins (as Q4_K); words 4..11 qh (bit 2c of qh[l]: element 64c+l, bit 2c+1: 64c+32+l);
// words 12..43 qs as Q4_K. x = (d sc_j) (low4 + 16 high) - dmin m_j, sub-block j = element / 32
fn k5_byte(base: u32, i: u32) -> u32 {
  return (wbuf[base + 1u + (i >> 2u)] >> ((i & 3u) * 8u)) & 0xffu;
}
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let b = k4 >> 6u;
  let t = (k4 & 63u) * 4u;
  let base = r * P.row_words + b * 44u;
  let dm = unpack2x16float(wbuf[base]);
  let j = t >> 5u;
  var sc: u32;
  var m: u32;
  if (j < 4u) {
    sc = k5_byte(base, j) & 63u;
    m = k5_byte(base, j + 4u) & 63u;
  } else {
    sc = (k5_byte(base, j + 4u) & 15u) | ((k5_byte(base, j - 4u) >> 6u) << 4u);
    m = (k5_byte(base, j + 4u) >> 4u) | ((k5_byte(base, j) >> 6u) << 4u);
  }
  let c = t >> 6u;
  let l = t & 31u;
  let up = (t & 32u) != 0u;
  let lo = bytes_u(wbuf[base + 12u + ((32u * c + l) >> 2u)] >> select(0u, 4u, up)) & vec4<u32>(15u);
  let hi = bytes_u(wbuf[base + 4u + (l >> 2u)] >> (2u * c + select(0u, 1u, up))) & vec4<u32>(1u);
  let q = vec4<f32>(lo | (hi << vec4<u32>(4u)));
  return (dm.x * f32(sc)) * q - dm.y * f32(m);
}
