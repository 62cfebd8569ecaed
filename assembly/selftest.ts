// Known-answer hook for the host's start-up self-test of a relaxed-SIMD build: the same
// integer dot primitives the kernels use (common.ts dotU16/dotU32), over n16 groups of 16.
// a: unsigned levels (0..63), x8: int8 activations, x16: the same as int16.
// Returns sum over groups of (dotU32 over pairs of groups, then dotU16 of a leftover group).

import { byteMask, dotQ8r, dotU8, onesI16, dotU16, dotU32, hsumi } from './common';

export function selfTestDot(a: usize, x8: usize, x16: usize, n16: i32): i32 {
  let acc = i32x4.splat(0);
  const ones = onesI16(n16);
  let i = 0;
  for (; i + 2 <= n16; i += 2) {
    const o = <usize>i << 4;
    acc = i32x4.add(acc, dotU32(v128.load(a + o), v128.load(a + o, 16), x8 + o, x16 + (o << 1), ones));
  }
  if (i < n16) {
    const o = <usize>i << 4;
    acc = i32x4.add(acc, dotU16(v128.load(a + o), x8 + o, x16 + (o << 1), ones));
  }
  return hsumi(acc);
}

/**
 * Known-answer hook for Q8_0's relaxed dot: n32 blocks of 32 signed int8 weights at w against
 * the positive and negative parts of 32 activations at xp and xn (u8 0..127). Returns the sum
 * of all products. Plain relaxed build: common.ts dotQ8r on the parts. Dot-add build: the
 * weights offset to u8 (q + 128) as repack.ts offsetQ8_0 stores them, dotU8 against the int8
 * activations xp - xn, and 128 times the activations' sum taken off, as the kernels do: the
 * host's extremes (levels 255 against activations 127) make a pair of products that int16
 * cannot hold, so an engine that saturates, or reads the levels signed, fails. Only meaningful
 * in the relaxed builds.
 */
export function selfTestDotQ8(w: usize, xp: usize, xn: usize, n32: i32): i32 {
  let acc = i32x4.splat(0);
  const ones = onesI16(n32);
  const sign = byteMask(n32, 0x80); // the dot-add build's level offset (repack.ts offsetQ8_0)
  let xsum = 0;
  for (let i = 0; i < n32; i++) {
    const o = <usize>i << 5;
    if (GEMMA_DOT_ADD) {
      const x0 = i8x16.sub(v128.load(xp + o), v128.load(xn + o)), x1 = i8x16.sub(v128.load(xp + o, 16), v128.load(xn + o, 16));
      acc = dotU8(v128.xor(v128.load(w + o), sign), v128.xor(v128.load(w + o, 16), sign), x0, x1, acc);
      for (let j: usize = 0; j < 32; j++) xsum += <i32>load<u8>(xp + o + j) - <i32>load<u8>(xn + o + j);
    } else {
      acc = i32x4.add(acc, dotQ8r(v128.load(w + o), v128.load(w + o, 16), v128.load(xp + o), v128.load(xp + o, 16), v128.load(xn + o), v128.load(xn + o, 16), ones));
    }
  }
  return hsumi(acc) - (xsum << 7);
}
