// Known-answer hook for the host's start-up self-test of a relaxed-SIMD build: the same
// integer dot primitives the kernels use (common.ts dotU16/dotU32), over n16 groups of 16.
// a: unsigned levels (0..63), x8: int8 activations, x16: the same as int16.
// Returns sum over groups of (dotU32 over pairs of groups, then dotU16 of a leftover group).

import { dotQ8r, onesI16, dotU16, dotU32, hsumi } from './common';

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
 * Known-answer hook for Q8_0's relaxed dot (common.ts dotQ8r): n32 blocks of 32 signed int8
 * weights at w against the positive and negative parts of 32 activations at xp and xn (u8
 * 0..127). Returns the sum of all products. Only meaningful in the relaxed build.
 */
export function selfTestDotQ8(w: usize, xp: usize, xn: usize, n32: i32): i32 {
  let acc = i32x4.splat(0);
  const ones = onesI16(n32);
  for (let i = 0; i < n32; i++) {
    const o = <usize>i << 5;
    acc = i32x4.add(acc, dotQ8r(v128.load(w + o), v128.load(w + o, 16), v128.load(xp + o), v128.load(xp + o, 16), v128.load(xn + o), v128.load(xn + o, 16), ones));
  }
  return hsumi(acc);
}
