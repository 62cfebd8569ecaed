// Memory read-bandwidth probe (bench/bandwidth.ts, `gemma-ts bench`): stream over bytes
// [p0, p1) with 64-byte vector loads and fold them into one value so no load is dead.
// Four independent accumulators keep the loads, not the xor chain, the bottleneck.

export function readProbe(p0: usize, p1: usize): i32 {
  let a = i32x4.splat(0), b = a, c = a, d = a;
  let p = p0;
  for (; p + 64 <= p1; p += 64) {
    a = v128.xor(a, v128.load(p));
    b = v128.xor(b, v128.load(p, 16));
    c = v128.xor(c, v128.load(p, 32));
    d = v128.xor(d, v128.load(p, 48));
  }
  const r = v128.xor(v128.xor(a, b), v128.xor(c, d));
  return i32x4.extract_lane(r, 0) ^ i32x4.extract_lane(r, 1) ^ i32x4.extract_lane(r, 2) ^ i32x4.extract_lane(r, 3);
}
