// Q4_K unit u of row r of weight `sel` (see dq/q4_k.wgsl for the 144-byte super-block): 8
// elements t..t+7 of super-block b = u / 32, t = 8 (u % 32), all in sub-block j = t / 32, whose
// nibbles are two words of chunk t / 64 (low or high halves); x = (d sc_j) q - dmin m_j, so the
// unit is (d sc_j) sum q x - (dmin m_j) sum x.
const GROUPS = 8u; // groups of 32 elements per block (the kernel's P.nb counts groups)
fn kb_byte(sel: u32, base: u32, i: u32) -> u32 {
  return (wword(sel, base + 1u + (i >> 2u)) >> ((i & 3u) * 8u)) & 0xffu;
}
fn unit_dot(sel: u32, r: u32, u: u32, n: u32) -> f32 {
  let b = u >> 5u;
  let t = (u & 31u) * 8u;
  let base = wrow(sel, r) + b * 36u;
  let dm = unpack2x16float(wword(sel, base));
  let j = t >> 5u;
  var sc: u32;
  var m: u32;
  if (j < 4u) {
    sc = kb_byte(sel, base, j) & 63u;
    m = kb_byte(sel, base, j + 4u) & 63u;
  } else {
    sc = (kb_byte(sel, base, j + 4u) & 15u) | ((kb_byte(sel, base, j - 4u) >> 6u) << 4u);
    m = (kb_byte(sel, base, j + 4u) >> 4u) | ((kb_byte(sel, base, j) >> 6u) << 4u);
  }
  let o = base + 4u + ((32u * (t >> 6u) + (t & 31u)) >> 2u);
  let sh = select(0u, 4u, (t & 32u) != 0u);
  let q0 = vec4<f32>(bytes_u(wword(sel, o) >> sh) & vec4<u32>(15u));
  let q1 = vec4<f32>(bytes_u(wword(sel, o + 1u) >> sh) & vec4<u32>(15u));
  let xo = (n * xcols()) / 4u + b * 64u + t / 4u;
  let x0 = x[xo];
  let x1 = x[xo + 1u];
  let xs = x0 + x1;
  return dm.x * f32(sc) * (dot(q0, x0) + dot(q1, x1)) - dm.y * f32(m) * (xs.x + xs.y + xs.z + xs.w);
}
