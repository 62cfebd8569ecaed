// Float rows of two 16-bit values per word, low half first (the including dqb/bf16 or dqb/f16
// defines pair(w), the two values of a word as f32): unit u of row r of weight `sel` is
// elements 8u..8u+7, four words, dotted with activation row n.
const GROUPS = 1u; // groups of 32 elements per block (the kernel's P.nb counts groups)
fn unit_dot(sel: u32, r: u32, u: u32, n: u32) -> f32 {
  let o = wrow(sel, r) + 4u * u;
  let xo = (n * xcols()) / 4u + 2u * u;
  let a = vec4<f32>(pair(wword(sel, o)), pair(wword(sel, o + 1u)));
  let b = vec4<f32>(pair(wword(sel, o + 2u)), pair(wword(sel, o + 3u)));
  return dot(a, x[xo]) + dot(b, x[xo + 1u]);
}
