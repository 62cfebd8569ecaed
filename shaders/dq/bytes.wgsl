// the 4 bytes of a word as unsigned / sign-extended values
fn bytes_u(w: u32) -> vec4<u32> {
  return vec4<u32>(w & 0xffu, (w >> 8u) & 0xffu, (w >> 16u) & 0xffu, w >> 24u);
}
fn bytes_i(w: u32) -> vec4<f32> {
  let s = i32(w);
  return vec4<f32>(f32(extractBits(s, 0u, 8u)), f32(extractBits(s, 8u, 8u)), f32(extractBits(s, 16u, 8u)), f32(extractBits(s, 24u, 8u)));
}
