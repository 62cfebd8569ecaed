// BF16 unit u of row r of weight `sel`: elements 8u..8u+7, four words of two bf16 each (low half
// first; a bf16 is the high half of an f32), dotted with activation row n.
const GROUPS = 1u; // groups of 32 elements per block (the kernel's P.nb counts groups)
fn bf2(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }
fn unit_dot(sel: u32, r: u32, u: u32, n: u32) -> f32 {
  let o = wrow(sel, r) + 4u * u;
  let xo = (n * xcols()) / 4u + 2u * u;
  let a = vec4<f32>(bf2(wword(sel, o)), bf2(wword(sel, o + 1u)));
  let b = vec4<f32>(bf2(wword(sel, o + 2u)), bf2(wword(sel, o + 3u)));
  return dot(a, x[xo]) + dot(b, x[xo + 1u]);
}
