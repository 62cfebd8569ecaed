// Weight repacking at upload: standard row-major ggml rows -> the "x4" group layout the
// matmul kernels read (four rows per group, unit u of the four rows stored together with
// the unit's header fields interleaved field by field; see matmul-q/k/f.ts).
//
// A source unit (a block, or a chunk of 8 float elements) of `unit` bytes is
//   [field 1: f1 bytes][field 2: f2][field 3: f3][payload: unit - f1 - f2 - f3]
// and the destination unit of 4 * unit bytes is
//   [field 1 of rows 0..3][field 2 of rows 0..3][field 3 of rows 0..3][payload of rows 0..3]
// Rows past `rows` (the padding of the last group) are written as zeros.

/**
 * src: `rows` source rows, row r at src + r * srcStride + srcOff; unit u at + u * unit.
 * dst: groups of dstStride bytes; group g's unit u at dst + g * dstStride + dstOff + u * 4 * unit.
 * fields: f1 | f2 << 8 | f3 << 16.
 */
export function repackX4(
  src: usize, srcStride: i32, srcOff: i32, rows: i32,
  dst: usize, dstStride: i32, dstOff: i32, units: i32, unit: i32, fields: i32,
): void {
  const f1 = fields & 0xff, f2 = (fields >> 8) & 0xff, f3 = (fields >> 16) & 0xff;
  const hdr = f1 + f2 + f3, pay = unit - hdr;
  const groups = (rows + 3) >> 2;
  for (let g = 0; g < groups; g++) {
    const gd = dst + <usize>g * <usize>dstStride + <usize>dstOff;
    for (let lane = 0; lane < 4; lane++) {
      const r = (g << 2) + lane;
      const live = r < rows;
      const rs = src + <usize>r * <usize>srcStride + <usize>srcOff;
      for (let u = 0; u < units; u++) {
        const s = rs + <usize>u * <usize>unit;
        const d = gd + ((<usize>u * <usize>unit) << 2);
        piece(d + <usize>(lane * f1), s, f1, live);
        piece(d + <usize>((f1 << 2) + lane * f2), s + <usize>f1, f2, live);
        piece(d + <usize>(((f1 + f2) << 2) + lane * f3), s + <usize>(f1 + f2), f3, live);
        piece(d + <usize>((hdr << 2) + lane * pay), s + <usize>hdr, pay, live);
      }
    }
  }
}

@inline function piece(d: usize, s: usize, n: i32, live: bool): void {
  if (n == 0) return;
  if (!live) { memory.fill(d, 0, <usize>n); return; }
  if (n == 2) { store<u16>(d, load<u16>(s)); return; }
  if (n == 4) { store<u32>(d, load<u32>(s)); return; }
  if ((n & 15) == 0) {
    // payloads of 16, 32, 64... bytes: vector copies (memory.copy is slow for small sizes)
    for (let i = 0; i < n; i += 16) v128.store(d + <usize>i, v128.load(s + <usize>i));
    return;
  }
  memory.copy(d, s, <usize>n);
}
