/**
 * Q5_0: 32 elements in 22 bytes (5.5 bits per weight), symmetric 5-bit.
 *
 * Block layout (ggml block_q5_0):
 *   byte 0..1   d       f16 scale
 *   byte 2..5   qh      u32 little-endian: bit j = 5th (high) bit of element j (0..31)
 *   byte 6..21  qs[16]  low 4 bits: element j (0..15) low nibble of qs[j], j+16 high nibble
 * Decode: x[j] = ((low4 | high << 4) - 16) * d        levels -16..15
 *
 * Quantizer without importance (quantize_row_q5_0_ref): max = signed element of largest
 * magnitude, d = max / -16, q = min(31, trunc(x/d + 16.5)) in f32 with the unrounded d.
 * With importance (quantize_row_q5_0_impl): make_qx_quants(32, 16) with
 * w = imp * sqrt(sigma2 + x^2), sigma2 = mean x^2 over the row.
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks, checkFinite, checkImportance } from './codec.js';
import { F16 as F16_, readU32 as readU32_, writeF16 as writeF16_, writeU32 as writeU32_ } from './bytes.js';
import { fround as fround_, importanceWeights as importanceWeights_, sumSquaresF32 as sumSquaresF32_ } from './f32-math.js';
import { makeQxQuants as makeQxQuants_ } from './scale-search.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const F16 = F16_,
  readU32 = readU32_,
  writeF16 = writeF16_,
  writeU32 = writeU32_,
  fround = fround_,
  importanceWeights = importanceWeights_,
  sumSquaresF32 = sumSquaresF32_,
  makeQxQuants = makeQxQuants_;

export const QK5_0 = 32;
export const Q5_0_BLOCK_BYTES = 22;

export function dequantizeRowQ5_0(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  const nb = checkBlocks('q5_0', QK5_0, Q5_0_BLOCK_BYTES, src, srcOff, out, outOff, n);
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q5_0_BLOCK_BYTES;
    const d = F16[src[o]! | (src[o + 1]! << 8)]!;
    const qh = readU32(src, o + 2);
    const y = outOff + b * QK5_0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]!;
      out[y + j] = (((q & 0xf) | (((qh >>> j) & 1) << 4)) - 16) * d;
      out[y + j + 16] = (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16) * d;
    }
  }
}

const weight = new Float32Array(QK5_0);
const levels = new Uint8Array(QK5_0);

/** Pack 32 five-bit levels into the qh word and the 16 nibble bytes of a Q5_0/Q5_1 block. */
export function packQ5Levels(levels: Uint8Array, dst: Uint8Array, qhOff: number, qsOff: number): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const l0 = levels[j]!;
    const l1 = levels[j + 16]!;
    dst[qsOff + j] = (l0 & 0xf) | ((l1 & 0xf) << 4);
    qh |= ((l0 & 0x10) >> 4) << j;
    qh |= ((l1 & 0x10) >> 4) << (j + 16);
  }
  writeU32(dst, qhOff, qh >>> 0);
}

export function quantizeRowQ5_0(
  src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number, importance?: Float32Array,
): void {
  const nb = checkBlocks('q5_0', QK5_0, Q5_0_BLOCK_BYTES, dst, dstOff, src, srcOff, n);
  checkFinite('q5_0', src, srcOff, n);
  checkImportance('q5_0', importance, n);
  const sigma2 = importance ? fround(sumSquaresF32(src, srcOff, n) / n) : 0;
  for (let b = 0; b < nb; b++) {
    const x = srcOff + b * QK5_0;
    const o = dstOff + b * Q5_0_BLOCK_BYTES;
    if (importance) {
      importanceWeights(importance, b * QK5_0, src, x, QK5_0, sigma2, weight);
      writeF16(dst, o, makeQxQuants(QK5_0, 16, src, x, levels, 0, weight, 0));
    } else {
      let amax = 0;
      let max = 0;
      for (let j = 0; j < QK5_0; j++) {
        const v = src[x + j]!;
        if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
      }
      const d = fround(max / -16);
      const id = d !== 0 ? fround(1 / d) : 0;
      writeF16(dst, o, d);
      for (let j = 0; j < QK5_0; j++) {
        levels[j] = Math.min(31, Math.trunc(fround(fround(src[x + j]! * id) + 16.5)));
      }
    }
    packQ5Levels(levels, dst, o + 2, o + 6);
  }
}

/** per block: d * (sum q*x - 16 * sum x), q the 5-bit unsigned levels */
export function dotRowQ5_0(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  const nb = checkBlocks('q5_0', QK5_0, Q5_0_BLOCK_BYTES, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q5_0_BLOCK_BYTES;
    const qh = readU32(src, o + 2);
    const xb = xOff + b * QK5_0;
    let sqx = 0;
    let sx = 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]!;
      const x0 = x[xb + j]!;
      const x1 = x[xb + j + 16]!;
      sqx += ((q & 0xf) | (((qh >>> j) & 1) << 4)) * x0 + ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) * x1;
      sx += x0 + x1;
    }
    sum += F16[src[o]! | (src[o + 1]! << 8)]! * (sqx - 16 * sx);
  }
  return sum;
}

export const q5_0Codec: BlockCodec = {
  name: 'q5_0', blockSize: QK5_0, blockBytes: Q5_0_BLOCK_BYTES, bitsPerWeight: (Q5_0_BLOCK_BYTES * 8) / QK5_0,
  dequantizeRow: dequantizeRowQ5_0,
  quantizeRow: quantizeRowQ5_0,
  dotRow: dotRowQ5_0,
};
