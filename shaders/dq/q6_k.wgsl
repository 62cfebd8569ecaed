// Q6_K: 256 elements; quant section 52 words per block (ql 128 bytes, qh 64, int8 scales 16),
// f16 d in the scale section. Element e: h = e>>7, r = e&127, g = r>>5, l = r&31;
//   low 4 bits  = ql[64h + 32(g&1) + l] (low nibble if g < 2, else high)
//   high 2 bits = (qh[32h + l] >> 2g) & 3
// x = (d * scales[e>>4]) * (q - 32)
fn dq4(r: u32, k4: u32) -> vec4<f32> {
  let b = k4 >> 6u;
  let e = (k4 & 63u) * 4u;
  let base = r * P.row_words + b * 52u;
  let h = e >> 7u;
  let g = (e & 127u) >> 5u;
  let l = e & 31u;
  let lw = wbuf[base + ((64u * h + 32u * (g & 1u) + l) >> 2u)];
  let hw = wbuf[base + 32u + ((32u * h + l) >> 2u)];
  let lo = bytes_u(lw >> select(0u, 4u, g >= 2u)) & vec4<u32>(15u);
  let hi = bytes_u(hw >> (2u * g)) & vec4<u32>(3u);
  let q = vec4<f32>(lo | (hi << vec4<u32>(4u))) - 32.0;
  let si = e >> 4u;
  let sw = i32(wbuf[base + 48u + (si >> 2u)]);
  let sc = f32(extractBits(sw, (si & 3u) * 8u, 8u));
  return (half_at(r * P.nb + b) * sc) * q;
}
