/**
 * Q8_0: 32 elements in 34 bytes (8.5 bits per weight), symmetric 8-bit.
 *
 * Block layout (ggml block_q8_0):
 *   byte 0..1   d      f16 scale
 *   byte 2..33  qs[32] int8 quants, element j in qs[j]
 * Decode: x[j] = qs[j] * d   (one f32 multiply)
 *
 * Quantizer (quantize_row_q8_0_ref): amax = max |x|, d = amax / 127, id = 1/d (0 if d = 0),
 * qs[j] = roundf(x[j] * id) (ties away from zero), all in f32. Note ggml computes the
 * quants with the unrounded f32 d and then stores d rounded to f16; we do the same, so a
 * quant can sit one step off the nearest grid point of the stored f16 d (by < 0.05%).
 * Importance weights are ignored, as ggml ignores quant_weights for Q8_0.
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks, checkFinite } from './codec.js';
import { F16 as F16_, writeF16 as writeF16_ } from './bytes.js';
import { fround as fround_, roundHalfAway as roundHalfAway_ } from './f32-math.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const F16 = F16_, writeF16 = writeF16_, fround = fround_, roundHalfAway = roundHalfAway_;

export const QK8_0 = 32;
export const Q8_0_BLOCK_BYTES = 34;

export function dequantizeRowQ8_0(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  const nb = checkBlocks('q8_0', QK8_0, Q8_0_BLOCK_BYTES, src, srcOff, out, outOff, n);
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q8_0_BLOCK_BYTES;
    const d = F16[src[o]! | (src[o + 1]! << 8)]!;
    const y = outOff + b * QK8_0;
    for (let j = 0; j < QK8_0; j++) out[y + j] = ((src[o + 2 + j]! << 24) >> 24) * d;
  }
}

export function quantizeRowQ8_0(src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number): void {
  const nb = checkBlocks('q8_0', QK8_0, Q8_0_BLOCK_BYTES, dst, dstOff, src, srcOff, n);
  checkFinite('q8_0', src, srcOff, n);
  for (let b = 0; b < nb; b++) {
    const x = srcOff + b * QK8_0;
    const o = dstOff + b * Q8_0_BLOCK_BYTES;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(src[x + j]!));
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < QK8_0; j++) dst[o + 2 + j] = roundHalfAway(fround(src[x + j]! * id)) & 0xff;
  }
}

/** sum_b d_b * sum_j qs[j] * x[j] — integer-weighted partial sums in double, one scale per block */
export function dotRowQ8_0(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  const nb = checkBlocks('q8_0', QK8_0, Q8_0_BLOCK_BYTES, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q8_0_BLOCK_BYTES;
    const xb = xOff + b * QK8_0;
    let s = 0;
    for (let j = 0; j < QK8_0; j++) s += ((src[o + 2 + j]! << 24) >> 24) * x[xb + j]!;
    sum += F16[src[o]! | (src[o + 1]! << 8)]! * s;
  }
  return sum;
}

export const q8_0Codec: BlockCodec = {
  name: 'q8_0', blockSize: QK8_0, blockBytes: Q8_0_BLOCK_BYTES, bitsPerWeight: (Q8_0_BLOCK_BYTES * 8) / QK8_0,
  dequantizeRow: dequantizeRowQ8_0,
  quantizeRow: quantizeRowQ8_0,
  dotRow: dotRowQ8_0,
};
