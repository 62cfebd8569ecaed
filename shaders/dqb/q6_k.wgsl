// Q6_K unit u of row r of weight `sel` (see dq/q6_k.wgsl for the layout): 8 elements e..e+7 of
// super-block b = u / 32, e = 8 (u % 32): two words of ql (low 4 bits), two of qh (high 2 bits),
// one int8 scale (16 elements share it); x = (d sc) (q - 32), so the unit is
// (d sc) (sum q x - 32 sum x). d comes from the scale section (wscale).
const GROUPS = 8u; // groups of 32 elements per block (the kernel's P.nb counts groups)
fn unit_dot(sel: u32, r: u32, u: u32, n: u32) -> f32 {
  let b = u >> 5u;
  let e = (u & 31u) * 8u;
  let base = wrow(sel, r) + b * 52u;
  let h = e >> 7u;
  let g = (e & 127u) >> 5u;
  let l = e & 31u;
  let lo_o = base + ((64u * h + 32u * (g & 1u) + l) >> 2u);
  let hi_o = base + 32u + ((32u * h + l) >> 2u);
  let lsh = select(0u, 4u, g >= 2u);
  let q0 = vec4<f32>((bytes_u(wword(sel, lo_o) >> lsh) & vec4<u32>(15u)) | ((bytes_u(wword(sel, hi_o) >> (2u * g)) & vec4<u32>(3u)) << vec4<u32>(4u)));
  let q1 = vec4<f32>((bytes_u(wword(sel, lo_o + 1u) >> lsh) & vec4<u32>(15u)) | ((bytes_u(wword(sel, hi_o + 1u) >> (2u * g)) & vec4<u32>(3u)) << vec4<u32>(4u)));
  let si = e >> 4u;
  let sc = f32(extractBits(i32(wword(sel, base + 48u + (si >> 2u))), (si & 3u) * 8u, 8u));
  let xo = (n * xcols()) / 4u + b * 64u + e / 4u;
  let x0 = x[xo];
  let x1 = x[xo + 1u];
  let xs = x0 + x1;
  return wscale(sel, r, b) * sc * (dot(q0, x0) + dot(q1, x1) - 32.0 * (xs.x + xs.y + xs.z + xs.w));
}
