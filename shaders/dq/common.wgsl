// Weight access shared by the dequantizers. A weight chunk is one storage buffer `wbuf`
// (array<u32>) holding rows [row_base, row_base + rows) of the weight, repacked on upload
// (src/kernels/webgpu/weight-layout.ts) so every block starts on a u32:
//   quant section: row r at words [r * P.row_words, (r + 1) * P.row_words)
//   scale section: from word P.scale_off, the bytes of each block (gb = r * P.nb + b) that
//                  would break u32 alignment: an f16 d (q8_0, q4_0, q5_0, q6_k: half_at) or
//                  d and m (q4_1: side_dm)
// Each format defines dq4(r, k4): elements 4*k4 .. 4*k4+3 of chunk row r, dequantized
// exactly as ggml does (src/quant/*.ts).

fn half_at(gb: u32) -> f32 {
  let w = unpack2x16float(wbuf[P.scale_off + (gb >> 1u)]);
  return select(w.x, w.y, (gb & 1u) == 1u);
}

// (d, m) of block gb when the scale section holds 4 bytes per block
fn side_dm(gb: u32) -> vec2<f32> {
  return unpack2x16float(wbuf[P.scale_off + gb]);
}

#include "dq/bytes"
