/**
 * Q8_K: 256 elements in 292 bytes (9.125 bits per weight). ggml uses it for the activation
 * side of K-quant dot products; the bsums let a dot with a min-offset format subtract
 * dmin*m*sum(x) with integers.
 *
 * Block layout (ggml block_q8_K):
 *   byte 0..3      d          f32 scale
 *   byte 4..259    qs[256]    int8 levels
 *   byte 260..291  bsums[16]  int16 little-endian, bsums[j] = sum of qs[16j..16j+15]
 * Decode: x = d * qs[j]
 *
 * Quantizer (quantize_row_q8_K_ref): max = signed element of largest magnitude,
 * iscale = -127/max, qs = min(127, nearest_int(iscale*x)), d = 1/iscale (f32, not f16).
 * An all-zero block gets d = 0 and zero quants; ggml leaves its bsums unwritten, we write 0.
 * Importance weights are ignored (ggml has no weighted Q8_K quantizer).
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks, checkFinite } from './codec.js';
import { readF32 as readF32_, writeF32 as writeF32_ } from './bytes.js';
import { fround as fround_, nearestInt as nearestInt_ } from './f32-math.js';
import { QK_K } from './q4_k.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const readF32 = readF32_, writeF32 = writeF32_, fround = fround_, nearestInt = nearestInt_;

export const Q8_K_BLOCK_BYTES = 292;

export function dequantizeRowQ8_K(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  const nb = checkBlocks('q8_k', QK_K, Q8_K_BLOCK_BYTES, src, srcOff, out, outOff, n);
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q8_K_BLOCK_BYTES;
    const d = readF32(src, o);
    const y = outOff + b * QK_K;
    for (let j = 0; j < QK_K; j++) out[y + j] = d * ((src[o + 4 + j]! << 24) >> 24);
  }
}

export function quantizeRowQ8_K(src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number): void {
  const nb = checkBlocks('q8_k', QK_K, Q8_K_BLOCK_BYTES, dst, dstOff, src, srcOff, n);
  checkFinite('q8_k', src, srcOff, n);
  for (let b = 0; b < nb; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * Q8_K_BLOCK_BYTES;
    let max = 0;
    let amax = 0;
    for (let j = 0; j < QK_K; j++) {
      const ax = Math.abs(src[x + j]!);
      if (ax > amax) { amax = ax; max = src[x + j]!; }
    }
    if (amax === 0) {
      dst.fill(0, o, o + Q8_K_BLOCK_BYTES);
      continue;
    }
    const iscale = fround(-127 / max);
    for (let j = 0; j < QK_K; j++) dst[o + 4 + j] = Math.min(127, nearestInt(fround(iscale * src[x + j]!))) & 0xff;
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let ii = 0; ii < 16; ii++) s += (dst[o + 4 + 16 * j + ii]! << 24) >> 24;
      dst[o + 260 + 2 * j] = s & 0xff;
      dst[o + 261 + 2 * j] = (s >> 8) & 0xff;
    }
    writeF32(dst, o, fround(1 / iscale));
  }
}

/** per block: d * sum qs*x */
export function dotRowQ8_K(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  const nb = checkBlocks('q8_k', QK_K, Q8_K_BLOCK_BYTES, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q8_K_BLOCK_BYTES;
    const xb = xOff + b * QK_K;
    let s = 0;
    for (let j = 0; j < QK_K; j++) s += ((src[o + 4 + j]! << 24) >> 24) * x[xb + j]!;
    sum += readF32(src, o) * s;
  }
  return sum;
}

export const q8_KCodec: BlockCodec = {
  name: 'q8_k', blockSize: QK_K, blockBytes: Q8_K_BLOCK_BYTES, bitsPerWeight: (Q8_K_BLOCK_BYTES * 8) / QK_K,
  dequantizeRow: dequantizeRowQ8_K,
  quantizeRow: quantizeRowQ8_K,
  dotRow: dotRowQ8_K,
};
