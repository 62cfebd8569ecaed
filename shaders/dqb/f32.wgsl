// F32 unit u of row r of weight `sel`: elements 8u..8u+7 (eight words), dotted with activation row n.
const GROUPS = 1u; // groups of 32 elements per block (the kernel's P.nb counts groups)
fn unit_dot(sel: u32, r: u32, u: u32, n: u32) -> f32 {
  let o = wrow(sel, r) + 8u * u;
  let xo = (n * xcols()) / 4u + 2u * u;
  let a = vec4<f32>(bitcast<f32>(wword(sel, o)), bitcast<f32>(wword(sel, o + 1u)), bitcast<f32>(wword(sel, o + 2u)), bitcast<f32>(wword(sel, o + 3u)));
  let b = vec4<f32>(bitcast<f32>(wword(sel, o + 4u)), bitcast<f32>(wword(sel, o + 5u)), bitcast<f32>(wword(sel, o + 6u)), bitcast<f32>(wword(sel, o + 7u)));
  return dot(a, x[xo]) + dot(b, x[xo + 1u]);
}
