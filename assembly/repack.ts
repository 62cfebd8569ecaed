// Weight repacking at upload: standard row-major ggml rows -> the "x4" group layout the
// matmul kernels read (four rows per group, unit u of the four rows stored together with
// the unit's header fields interleaved field by field; see matmul-q/k/f.ts).
//
// A source unit (a block, or a chunk of 8 float elements) of `unit` bytes is
//   [field 1: f1 bytes][field 2: f2][field 3: f3][payload: unit - f1 - f2 - f3]
// and the destination unit of 4 * unit bytes is
//   [field 1 of rows 0..3][field 2 of rows 0..3][field 3 of rows 0..3][payload of rows 0..3]
// Rows past `rows` (the padding of the last group) are written as zeros.

import { Q8_0_LEVEL_OFFSET } from './common';

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

/**
 * Q5_0 / Q5_1 after repackX4: rewrite each unit's four qh words (16 bytes at unit + qhOff;
 * word i = row i's fifth bits, bit j = element j) bit-sliced: byte j (0..15), bit 2i + h = the
 * fifth bit of row i's element j + 16 h. The kernels then take row i's half h with one shift
 * and one and (matmul-q.ts levels) instead of a splat, a byte shuffle and a compare. Same size.
 * groups: groups of `groupStride` bytes from dst; units of unit4 bytes from dst + g * stride.
 */
export function sliceQh(dst: usize, groups: i32, groupStride: i32, units: i32, unit4: i32, qhOff: i32): void {
  const mask = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  for (let g = 0; g < groups; g++) {
    let u = dst + <usize>g * <usize>groupStride + <usize>qhOff;
    for (let n = 0; n < units; n++) {
      let out = i8x16.splat(0);
      for (let i = 0; i < 4; i++) {
        const v = i32x4.splat(load<u32>(u + (<usize>i << 2)));
        // bits 0..15 to byte lanes 0..15 (lane j: bit j), then 16..31
        const lo = i8x16.eq(v128.and(i8x16.shuffle(v, v, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), mask), mask);
        const hi = i8x16.eq(v128.and(i8x16.shuffle(v, v, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), mask), mask);
        const b0: i32 = 1 << (i << 1), b1: i32 = b0 << 1;
        out = v128.or(out, v128.and(lo, i8x16.splat(<i8>b0)));
        out = v128.or(out, v128.and(hi, i8x16.splat(<i8>b1)));
      }
      v128.store(u, out);
      u += <usize>unit4;
    }
  }
}

/**
 * Q8_0 after repackX4, dot-add build only (a no-op in the others): store each level q as the
 * u8 q + 128 (flip its sign bit), the unsigned operand of the decode and prefill dot-adds
 * (common.ts dotU8). Units of 136 bytes ([d x4][4 x 32 levels]) from dst + g * groupStride.
 */
export function offsetQ8_0(dst: usize, groups: i32, groupStride: i32, units: i32): void {
  if (!GEMMA_DOT_ADD) return;
  const sign = i8x16.splat(-128);
  for (let g = 0; g < groups; g++) {
    let u = dst + <usize>g * <usize>groupStride + 8;
    for (let n = 0; n < units; n++) {
      for (let i = 0; i < 128; i += 16) v128.store(u + <usize>i, v128.xor(v128.load(u + <usize>i), sign));
      u += 136;
    }
  }
}

/** the offset of Q8_0's stored levels in this build (common.ts Q8_0_LEVEL_OFFSET) */
export function q8_0LevelOffset(): i32 { return Q8_0_LEVEL_OFFSET; }
