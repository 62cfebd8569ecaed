// F16 unit u of row r of weight `sel`: elements 8u..8u+7, four words of two f16 each (low half
// first), dotted with activation row n.
const GROUPS = 1u; // groups of 32 elements per block (the kernel's P.nb counts groups)
fn unit_dot(sel: u32, r: u32, u: u32, n: u32) -> f32 {
  let o = wrow(sel, r) + 4u * u;
  let xo = (n * xcols()) / 4u + 2u * u;
  let a = vec4<f32>(unpack2x16float(wword(sel, o)), unpack2x16float(wword(sel, o + 1u)));
  let b = vec4<f32>(unpack2x16float(wword(sel, o + 2u)), unpack2x16float(wword(sel, o + 3u)));
  return dot(a, x[xo]) + dot(b, x[xo + 1u]);
}
