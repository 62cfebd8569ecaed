// Q4_K: 144-byte super-blocks (36 words), kept as ggml stores them:
//   word 0: d (low half), dmin (high half); words 1..3: 12 packed 6-bit scale/min bytes;
//   words 4..35: qs, 4 chunks of 32 bytes; chunk c holds elements 64c..64c+31 in the low
//   nibbles and 64c+32..64c+63 in the high nibbles.
// x = (d * sc_j) * q - (dmin * m_j), sub-block j = element / 32 (as src/quant/q4_k.ts rounds)
fn k4_byte(base: u32, i: u32) -> u32 {
  return (wbuf[base + 1u + (i >> 2u)] >> ((i & 3u) * 8u)) & 0xffu;
}
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let b = k4 >> 6u;              // 64 groups of 4 per super-block
  let t = (k4 & 63u) * 4u;       // element within the super-block
  let base = r * P.row_words + b * 36u;
  let dm = unpack2x16float(wbuf[base]);
  let j = t >> 5u;               // sub-block 0..7
  var sc: u32;
  var m: u32;
  if (j < 4u) {
    sc = k4_byte(base, j) & 63u;
    m = k4_byte(base, j + 4u) & 63u;
  } else {
    sc = (k4_byte(base, j + 4u) & 15u) | ((k4_byte(base, j - 4u) >> 6u) << 4u);
    m = (k4_byte(base, j + 4u) >> 4u) | ((k4_byte(base, j) >> 6u) << 4u);
  }
  let c = t >> 6u;
  let l = t & 31u;
  let w = wbuf[base + 4u + ((32u * c + l) >> 2u)];
  let sh = select(0u, 4u, (t & 32u) != 0u);
  let q = vec4<f32>(bytes_u(w >> sh) & vec4<u32>(15u));
  let d1 = dm.x * f32(sc);
  let m1 = dm.y * f32(m);
  return d1 * q - m1;
}
