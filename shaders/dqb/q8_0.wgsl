// Q8_0 unit u of row r of weight `sel` (8 quants: quarter u % 4 of block u / 4, two words)
// dotted with activation row n; times the block's f16 d (see dq/q8_0.wgsl). The including
// kernel provides wrow (first word of a row), wword and wscale.
const GROUPS = 1u; // groups of 32 elements per block (the kernel's P.nb counts groups)
fn unit_dot(sel: u32, r: u32, u: u32, n: u32) -> f32 {
  let b = u >> 2u;
  let i = u & 3u;
  let o = wrow(sel, r) + b * 8u + 2u * i;
  let xo = (n * xcols()) / 4u + b * 8u + 2u * i;
  return (dot(bytes_i(wword(sel, o)), x[xo]) + dot(bytes_i(wword(sel, o + 1u)), x[xo + 1u])) * wscale(sel, r, b);
}
