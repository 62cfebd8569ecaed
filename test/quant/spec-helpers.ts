/**
 * Field readers written from the block layouts, independent of src/quant (bit-level, slow):
 * shared by the spec-decoder and round-trip tests.
 */

/** unsigned bit field of `count` bits starting at bit `bit` (LSB-first, little-endian bytes) */
export function bits(b: Uint8Array, bit: number, count: number): number {
  let v = 0;
  for (let k = 0; k < count; k++) {
    const p = bit + k;
    v |= ((b[p >> 3]! >> (p & 7)) & 1) << k;
  }
  return v >>> 0;
}

export function int8(b: Uint8Array, byte: number): number {
  const u = bits(b, 8 * byte, 8);
  return u >= 128 ? u - 256 : u;
}

/** IEEE half -> f32 by rebuilding the f32 bit pattern (independent of src/tensor/half.ts) */
export function f16(h: number): number {
  const sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  if (exp === 0) return (sign ? -1 : 1) * mant * 2 ** -24; // exact in f32
  const dv = new DataView(new ArrayBuffer(4));
  const e32 = exp === 31 ? 255 : exp - 15 + 127;
  dv.setUint32(0, ((sign << 31) | (e32 << 23) | (mant << 13)) >>> 0);
  return dv.getFloat32(0);
}

export const f16At = (b: Uint8Array, byte: number): number => f16(bits(b, 8 * byte, 16));

export function f32At(b: Uint8Array, byte: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits(b, 8 * byte, 32));
  return dv.getFloat32(0);
}

/** K-quant 6-bit (scale, min) of sub-block j from the 12 bytes starting at byte `s` */
export function k4ScaleMin(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [bits(b, 8 * (s + j), 6), bits(b, 8 * (s + j + 4), 6)];
  const sc = bits(b, 8 * (s + j + 4), 4) | (bits(b, 8 * (s + j - 4) + 6, 2) << 4);
  const m = bits(b, 8 * (s + j + 4) + 4, 4) | (bits(b, 8 * (s + j) + 6, 2) << 4);
  return [sc, m];
}

/** round a number to the nearest f16 value (round half to even), independent of half.ts */
export function toF16Value(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  const a = Math.abs(v);
  if (a >= 65520) return Math.sign(v) * Infinity;
  // spacing of f16 values around a: 2^(e-10) for normal, 2^-24 for subnormal
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (r - q === 0.5 && r % 2 === 1) r -= 1;
  return Math.sign(v) * r * ulp;
}
