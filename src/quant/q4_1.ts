/**
 * Q4_1: 32 elements in 20 bytes (5 bits per weight), asymmetric 4-bit.
 *
 * Block layout (ggml block_q4_1):
 *   byte 0..1   d       f16 scale
 *   byte 2..3   m       f16 min (offset)
 *   byte 4..19  qs[16]  element j in the low nibble of qs[j], element j+16 in the high
 * Decode: x[j] = nibble * d + m          (f32 multiply, then f32 add)
 *
 * Quantizer without importance (quantize_row_q4_1_ref): min/max of the block,
 * d = (max - min)/15, q = min(15, trunc((x - min)/d + 0.5)) in f32 with the unrounded d and
 * min; d and m = min are stored as f16 afterwards.
 * With importance (quantize_row_q4_1_impl): w = imp * sqrt(sigma2 + x^2) (sigma2 = mean x^2
 * over the row), make_qkx3_quants(32, 15, w, rmin -0.9, rdelta 0.05, 36 steps) fits d and
 * the min; m = -the_min.
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks, checkFinite, checkImportance } from './codec.js';
import { F16 as F16_, writeF16 as writeF16_ } from './bytes.js';
import { fround as fround_, importanceWeights as importanceWeights_, sumSquaresF32 as sumSquaresF32_ } from './f32-math.js';
import { makeQkx3Quants as makeQkx3Quants_, type MinOut } from './scale-search.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const F16 = F16_,
  writeF16 = writeF16_,
  fround = fround_,
  importanceWeights = importanceWeights_,
  sumSquaresF32 = sumSquaresF32_,
  makeQkx3Quants = makeQkx3Quants_;

export const QK4_1 = 32;
export const Q4_1_BLOCK_BYTES = 20;

export function dequantizeRowQ4_1(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  const nb = checkBlocks('q4_1', QK4_1, Q4_1_BLOCK_BYTES, src, srcOff, out, outOff, n);
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q4_1_BLOCK_BYTES;
    const d = F16[src[o]! | (src[o + 1]! << 8)]!;
    const m = F16[src[o + 2]! | (src[o + 3]! << 8)]!;
    const y = outOff + b * QK4_1;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]!;
      out[y + j] = fround((q & 0xf) * d) + m;
      out[y + j + 16] = fround((q >> 4) * d) + m;
    }
  }
}

const weight = new Float32Array(QK4_1);
const levels = new Uint8Array(QK4_1);
const levelsAux = new Uint8Array(QK4_1);
const minOut: MinOut = { theMin: 0 };
const F_M09 = fround(-0.9);
const F_005 = fround(0.05);

export function quantizeRowQ4_1(
  src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number, importance?: Float32Array,
): void {
  const nb = checkBlocks('q4_1', QK4_1, Q4_1_BLOCK_BYTES, dst, dstOff, src, srcOff, n);
  checkFinite('q4_1', src, srcOff, n);
  checkImportance('q4_1', importance, n);
  const sigma2 = importance ? fround(sumSquaresF32(src, srcOff, n) / n) : 0;
  for (let b = 0; b < nb; b++) {
    const x = srcOff + b * QK4_1;
    const o = dstOff + b * Q4_1_BLOCK_BYTES;
    if (importance) {
      importanceWeights(importance, b * QK4_1, src, x, QK4_1, sigma2, weight);
      const d = makeQkx3Quants(QK4_1, 15, src, x, weight, 0, levels, 0, minOut, levelsAux, F_M09, F_005, 36);
      writeF16(dst, o, d);
      writeF16(dst, o + 2, -minOut.theMin);
    } else {
      let min = Infinity;
      let max = -Infinity;
      for (let j = 0; j < QK4_1; j++) {
        const v = src[x + j]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const d = fround(fround(max - min) / 15);
      const id = d !== 0 ? fround(1 / d) : 0;
      writeF16(dst, o, d);
      writeF16(dst, o + 2, min);
      for (let j = 0; j < QK4_1; j++) {
        levels[j] = Math.min(15, Math.trunc(fround(fround(fround(src[x + j]! - min) * id) + 0.5)));
      }
    }
    for (let j = 0; j < 16; j++) dst[o + 4 + j] = levels[j]! | (levels[j + 16]! << 4);
  }
}

/** per block: d * sum q*x + m * sum x */
export function dotRowQ4_1(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  const nb = checkBlocks('q4_1', QK4_1, Q4_1_BLOCK_BYTES, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q4_1_BLOCK_BYTES;
    const xb = xOff + b * QK4_1;
    let sqx = 0;
    let sx = 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]!;
      const x0 = x[xb + j]!;
      const x1 = x[xb + j + 16]!;
      sqx += (q & 0xf) * x0 + (q >> 4) * x1;
      sx += x0 + x1;
    }
    sum += F16[src[o]! | (src[o + 1]! << 8)]! * sqx + F16[src[o + 2]! | (src[o + 3]! << 8)]! * sx;
  }
  return sum;
}

export const q4_1Codec: BlockCodec = {
  name: 'q4_1', blockSize: QK4_1, blockBytes: Q4_1_BLOCK_BYTES, bitsPerWeight: (Q4_1_BLOCK_BYTES * 8) / QK4_1,
  dequantizeRow: dequantizeRowQ4_1,
  quantizeRow: quantizeRowQ4_1,
  dotRow: dotRowQ4_1,
};
