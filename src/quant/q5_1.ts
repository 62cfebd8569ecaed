/**
 * Q5_1: 32 elements in 24 bytes (6 bits per weight), asymmetric 5-bit.
 *
 * Block layout (ggml block_q5_1):
 *   byte 0..1   d       f16 scale
 *   byte 2..3   m       f16 min (offset)
 *   byte 4..7   qh      u32 little-endian: bit j = 5th (high) bit of element j (0..31)
 *   byte 8..23  qs[16]  low 4 bits: element j (0..15) low nibble of qs[j], j+16 high nibble
 * Decode: x[j] = (low4 | high << 4) * d + m   (f32 multiply, then f32 add)
 *
 * Quantizer without importance (quantize_row_q5_1_ref): d = (max - min)/31,
 * q = trunc((x - min)/d + 0.5) in f32 (ggml does not clamp to 31 here; a level of 32 cannot
 * arise since (x - min)/d <= 31 up to rounding, and would lose its 6th bit as in ggml).
 * With importance (quantize_row_q5_1_impl): make_qkx3_quants(32, 31, w, -0.9, 0.05, 36),
 * w = imp * sqrt(sigma2 + x^2); m = -the_min.
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks, checkFinite, checkImportance } from './codec.js';
import { F16 as F16_, readU32 as readU32_, writeF16 as writeF16_ } from './bytes.js';
import { fround as fround_, importanceWeights as importanceWeights_, sumSquaresF32 as sumSquaresF32_ } from './f32-math.js';
import { makeQkx3Quants as makeQkx3Quants_, type MinOut } from './scale-search.js';
import { packQ5Levels } from './q5_0.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const F16 = F16_,
  readU32 = readU32_,
  writeF16 = writeF16_,
  fround = fround_,
  importanceWeights = importanceWeights_,
  sumSquaresF32 = sumSquaresF32_,
  makeQkx3Quants = makeQkx3Quants_;

export const QK5_1 = 32;
export const Q5_1_BLOCK_BYTES = 24;

export function dequantizeRowQ5_1(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  const nb = checkBlocks('q5_1', QK5_1, Q5_1_BLOCK_BYTES, src, srcOff, out, outOff, n);
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q5_1_BLOCK_BYTES;
    const d = F16[src[o]! | (src[o + 1]! << 8)]!;
    const m = F16[src[o + 2]! | (src[o + 3]! << 8)]!;
    const qh = readU32(src, o + 4);
    const y = outOff + b * QK5_1;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]!;
      out[y + j] = fround(((q & 0xf) | (((qh >>> j) & 1) << 4)) * d) + m;
      out[y + j + 16] = fround(((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) * d) + m;
    }
  }
}

const weight = new Float32Array(QK5_1);
const levels = new Uint8Array(QK5_1);
const levelsAux = new Uint8Array(QK5_1);
const minOut: MinOut = { theMin: 0 };
const F_M09 = fround(-0.9);
const F_005 = fround(0.05);

export function quantizeRowQ5_1(
  src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number, importance?: Float32Array,
): void {
  const nb = checkBlocks('q5_1', QK5_1, Q5_1_BLOCK_BYTES, dst, dstOff, src, srcOff, n);
  checkFinite('q5_1', src, srcOff, n);
  checkImportance('q5_1', importance, n);
  const sigma2 = importance ? fround(sumSquaresF32(src, srcOff, n) / n) : 0;
  for (let b = 0; b < nb; b++) {
    const x = srcOff + b * QK5_1;
    const o = dstOff + b * Q5_1_BLOCK_BYTES;
    if (importance) {
      importanceWeights(importance, b * QK5_1, src, x, QK5_1, sigma2, weight);
      const d = makeQkx3Quants(QK5_1, 31, src, x, weight, 0, levels, 0, minOut, levelsAux, F_M09, F_005, 36);
      writeF16(dst, o, d);
      writeF16(dst, o + 2, -minOut.theMin);
    } else {
      let min = Infinity;
      let max = -Infinity;
      for (let j = 0; j < QK5_1; j++) {
        const v = src[x + j]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const d = fround(fround(max - min) / 31);
      const id = d !== 0 ? fround(1 / d) : 0;
      writeF16(dst, o, d);
      writeF16(dst, o + 2, min);
      for (let j = 0; j < QK5_1; j++) {
        levels[j] = Math.trunc(fround(fround(fround(src[x + j]! - min) * id) + 0.5)) & 0xff;
      }
    }
    packQ5Levels(levels, dst, o + 4, o + 8);
  }
}

/** per block: d * sum q*x + m * sum x */
export function dotRowQ5_1(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  const nb = checkBlocks('q5_1', QK5_1, Q5_1_BLOCK_BYTES, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q5_1_BLOCK_BYTES;
    const qh = readU32(src, o + 4);
    const xb = xOff + b * QK5_1;
    let sqx = 0;
    let sx = 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]!;
      const x0 = x[xb + j]!;
      const x1 = x[xb + j + 16]!;
      sqx += ((q & 0xf) | (((qh >>> j) & 1) << 4)) * x0 + ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) * x1;
      sx += x0 + x1;
    }
    sum += F16[src[o]! | (src[o + 1]! << 8)]! * sqx + F16[src[o + 2]! | (src[o + 3]! << 8)]! * sx;
  }
  return sum;
}

export const q5_1Codec: BlockCodec = {
  name: 'q5_1', blockSize: QK5_1, blockBytes: Q5_1_BLOCK_BYTES, bitsPerWeight: (Q5_1_BLOCK_BYTES * 8) / QK5_1,
  dequantizeRow: dequantizeRowQ5_1,
  quantizeRow: quantizeRowQ5_1,
  dotRow: dotRowQ5_1,
};
