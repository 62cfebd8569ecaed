// Q4_0 unit u of row r of weight `sel`: word i = u % 4 of block b = u / 4, whose bytes hold
// elements 4i..4i+3 (low nibbles) and 16+4i..16+4i+3 (high nibbles); value (q - 8) d, so the
// unit is d (sum q_j x_j - 8 sum x_j) over its 8 elements. The including kernel provides
// wrow (first word of a row), wword and wscale.
const GROUPS = 1u; // groups of 32 elements per block (the kernel's P.nb counts groups)
fn unit_dot(sel: u32, r: u32, u: u32, n: u32) -> f32 {
  let b = u >> 2u;
  let i = u & 3u;
  let w = wword(sel, wrow(sel, r) + b * 4u + i);
  let xo = (n * xcols()) / 4u + b * 8u + i;
  let xl = x[xo];
  let xh = x[xo + 4u];
  let lo = vec4<f32>(bytes_u(w) & vec4<u32>(15u));
  let hi = vec4<f32>(bytes_u(w >> 4u) & vec4<u32>(15u));
  let xs = xl + xh;
  return (dot(lo, xl) + dot(hi, xh) - 8.0 * (xs.x + xs.y + xs.z + xs.w)) * wscale(sel, r, b);
}
