/**
 * Q4_0: 32 elements in 18 bytes (4.5 bits per weight), symmetric 4-bit.
 *
 * Block layout (ggml block_q4_0):
 *   byte 0..1   d       f16 scale
 *   byte 2..17  qs[16]  element j (0..15) in the low nibble of qs[j], element j+16 in the high
 * Decode: x[j] = (nibble - 8) * d        levels -8..7
 *
 * Quantizer without importance (quantize_row_q4_0_ref): max = the signed element of largest
 * magnitude; d = max / -8 so that element lands on level -8 (the side with the extra level);
 * q = min(15, trunc(x/d + 8.5)), in f32 with the unrounded d; d is stored as f16 afterwards.
 * With importance (quantize_row_q4_0_impl): sigma2 = mean(x^2) over the row, weights
 * w = imp * sqrt(sigma2 + x^2), then make_qx_quants(32, 8, w) searches the scale.
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks, checkFinite, checkImportance } from './codec.js';
import { F16 as F16_, writeF16 as writeF16_ } from './bytes.js';
import { fround as fround_, importanceWeights as importanceWeights_, sumSquaresF32 as sumSquaresF32_ } from './f32-math.js';
import { makeQxQuants as makeQxQuants_ } from './scale-search.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const F16 = F16_,
  writeF16 = writeF16_,
  fround = fround_,
  importanceWeights = importanceWeights_,
  sumSquaresF32 = sumSquaresF32_,
  makeQxQuants = makeQxQuants_;

export const QK4_0 = 32;
export const Q4_0_BLOCK_BYTES = 18;

export function dequantizeRowQ4_0(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  const nb = checkBlocks('q4_0', QK4_0, Q4_0_BLOCK_BYTES, src, srcOff, out, outOff, n);
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q4_0_BLOCK_BYTES;
    const d = F16[src[o]! | (src[o + 1]! << 8)]!;
    const y = outOff + b * QK4_0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      out[y + j] = ((q & 0xf) - 8) * d;
      out[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

const weight = new Float32Array(QK4_0);
const levels = new Uint8Array(QK4_0);

export function quantizeRowQ4_0(
  src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number, importance?: Float32Array,
): void {
  const nb = checkBlocks('q4_0', QK4_0, Q4_0_BLOCK_BYTES, dst, dstOff, src, srcOff, n);
  checkFinite('q4_0', src, srcOff, n);
  checkImportance('q4_0', importance, n);
  const sigma2 = importance ? fround(sumSquaresF32(src, srcOff, n) / n) : 0;
  for (let b = 0; b < nb; b++) {
    const x = srcOff + b * QK4_0;
    const o = dstOff + b * Q4_0_BLOCK_BYTES;
    if (importance) {
      importanceWeights(importance, b * QK4_0, src, x, QK4_0, sigma2, weight);
      writeF16(dst, o, makeQxQuants(QK4_0, 8, src, x, levels, 0, weight, 0));
    } else {
      let amax = 0;
      let max = 0;
      for (let j = 0; j < QK4_0; j++) {
        const v = src[x + j]!;
        if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
      }
      const d = fround(max / -8);
      const id = d !== 0 ? fround(1 / d) : 0;
      writeF16(dst, o, d);
      for (let j = 0; j < QK4_0; j++) {
        // (int8_t)(x*id + 8.5f): the sum is >= 0.5 here, so truncation is floor
        levels[j] = Math.min(15, Math.trunc(fround(fround(src[x + j]! * id) + 8.5)));
      }
    }
    for (let j = 0; j < 16; j++) dst[o + 2 + j] = levels[j]! | (levels[j + 16]! << 4);
  }
}

/** per block: d * (sum q*x - 8 * sum x), q the raw nibbles */
export function dotRowQ4_0(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  const nb = checkBlocks('q4_0', QK4_0, Q4_0_BLOCK_BYTES, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q4_0_BLOCK_BYTES;
    const xb = xOff + b * QK4_0;
    let sqx = 0;
    let sx = 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      const x0 = x[xb + j]!;
      const x1 = x[xb + j + 16]!;
      sqx += (q & 0xf) * x0 + (q >> 4) * x1;
      sx += x0 + x1;
    }
    sum += F16[src[o]! | (src[o + 1]! << 8)]! * (sqx - 8 * sx);
  }
  return sum;
}

export const q4_0Codec: BlockCodec = {
  name: 'q4_0', blockSize: QK4_0, blockBytes: Q4_0_BLOCK_BYTES, bitsPerWeight: (Q4_0_BLOCK_BYTES * 8) / QK4_0,
  dequantizeRow: dequantizeRowQ4_0,
  quantizeRow: quantizeRowQ4_0,
  dotRow: dotRowQ4_0,
};
