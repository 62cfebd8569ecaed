// Known-answer hook for the host's start-up self-test of a relaxed-SIMD build: the same
// integer dot primitives the kernels use (common.ts dotU16/dotU32), over n16 groups of 16.
// a: unsigned levels (0..63), x8: int8 activations, x16: the same as int16.
// Returns sum over groups of (dotU32 over pairs of groups, then dotU16 of a leftover group).

import { dotU16, dotU32, hsumi } from './common';

export function selfTestDot(a: usize, x8: usize, x16: usize, n16: i32): i32 {
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 2 <= n16; i += 2) {
    const o = <usize>i << 4;
    acc = i32x4.add(acc, dotU32(v128.load(a + o), v128.load(a + o, 16), x8 + o, x16 + (o << 1)));
  }
  if (i < n16) {
    const o = <usize>i << 4;
    acc = i32x4.add(acc, dotU16(v128.load(a + o), x8 + o, x16 + (o << 1)));
  }
  return hsumi(acc);
}
