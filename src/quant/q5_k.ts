/**
 * Q5_K: 256 elements (8 sub-blocks of 32) in 176 bytes (5.5 bits per weight).
 *
 * Block layout (ggml block_q5_K):
 *   byte 0..1     d           f16 super-scale of the sub-block scales
 *   byte 2..3     dmin        f16 super-scale of the sub-block mins
 *   byte 4..15    scales[12]  8 x (6-bit scale, 6-bit min), packed as in k-scales.ts
 *   byte 16..47   qh[32]      5th bits: bit 2c of qh[l] -> element 64c+l,
 *                             bit 2c+1 of qh[l] -> element 64c+32+l   (c = 0..3)
 *   byte 48..175  qs[128]     low 4 bits, as Q4_K: byte 32c+l low nibble = element 64c+l,
 *                             high nibble = element 64c+32+l
 * Decode: x = (d*sc_j) * (low4 + 16*high) - (dmin*m_j)    (q in 0..31)
 *
 * Quantizer: as Q4_K (see q4_k.ts) with 31 levels; without importance make_qkx2_quants
 * uses rmin -0.5, rdelta 0.1, 15 steps (quantize_row_q5_K_ref); with importance
 * make_qkx3_quants(-0.9, 0.05, 36) + make_qp_quants (quantize_row_q5_K_impl).
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks, checkFinite, checkImportance } from './codec.js';
import { F16 as F16_ } from './bytes.js';
import { fround as fround_ } from './f32-math.js';
import { kMin as kMin_, kScale as kScale_ } from './k-scales.js';
import { QK_K, quantizeSuperBlockScalesK as quantizeSuperBlockScalesK_, requantizeLevelsK as requantizeLevelsK_ } from './q4_k.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const F16 = F16_,
  fround = fround_,
  kMin = kMin_,
  kScale = kScale_,
  quantizeSuperBlockScalesK = quantizeSuperBlockScalesK_,
  requantizeLevelsK = requantizeLevelsK_;

export const Q5_K_BLOCK_BYTES = 176;

export function dequantizeRowQ5_K(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  const nb = checkBlocks('q5_k', QK_K, Q5_K_BLOCK_BYTES, src, srcOff, out, outOff, n);
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q5_K_BLOCK_BYTES;
    const d = F16[src[o]! | (src[o + 1]! << 8)]!;
    const dmin = F16[src[o + 2]! | (src[o + 3]! << 8)]!;
    for (let c = 0; c < 4; c++) {
      const d1 = fround(d * kScale(src, o + 4, 2 * c));
      const m1 = fround(dmin * kMin(src, o + 4, 2 * c));
      const d2 = fround(d * kScale(src, o + 4, 2 * c + 1));
      const m2 = fround(dmin * kMin(src, o + 4, 2 * c + 1));
      const q = o + 48 + 32 * c;
      const y = outOff + b * QK_K + 64 * c;
      for (let l = 0; l < 32; l++) {
        const h = src[o + 16 + l]! >> (2 * c);
        out[y + l] = fround(d1 * ((src[q + l]! & 0xf) | ((h & 1) << 4))) - m1;
        out[y + 32 + l] = fround(d2 * ((src[q + l]! >> 4) | ((h & 2) << 3))) - m2;
      }
    }
  }
}

const L = new Uint8Array(QK_K);

export function quantizeRowQ5_K(
  src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number, importance?: Float32Array,
): void {
  const nb = checkBlocks('q5_k', QK_K, Q5_K_BLOCK_BYTES, dst, dstOff, src, srcOff, n);
  checkFinite('q5_k', src, srcOff, n);
  checkImportance('q5_k', importance, n);
  for (let b = 0; b < nb; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * Q5_K_BLOCK_BYTES;
    quantizeSuperBlockScalesK(src, x, dst, o, 31, importance, b * QK_K, L);
    requantizeLevelsK(src, x, dst, o, 31, L);
    for (let l = 0; l < 32; l++) dst[o + 16 + l] = 0;
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        const l1 = L[64 * c + l]!;
        const l2 = L[64 * c + 32 + l]!;
        dst[o + 16 + l] |= ((l1 >> 4) << (2 * c)) | ((l2 >> 4) << (2 * c + 1));
        dst[o + 48 + 32 * c + l] = (l1 & 0xf) | ((l2 & 0xf) << 4);
      }
    }
  }
}

/** per sub-block j: d*sc_j * sum q*x - dmin*m_j * sum x */
export function dotRowQ5_K(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  const nb = checkBlocks('q5_k', QK_K, Q5_K_BLOCK_BYTES, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q5_K_BLOCK_BYTES;
    const d = F16[src[o]! | (src[o + 1]! << 8)]!;
    const dmin = F16[src[o + 2]! | (src[o + 3]! << 8)]!;
    let sq = 0;
    let sm = 0;
    for (let c = 0; c < 4; c++) {
      const q = o + 48 + 32 * c;
      const xb = xOff + b * QK_K + 64 * c;
      let s1 = 0, s2 = 0, x1 = 0, x2 = 0;
      for (let l = 0; l < 32; l++) {
        const v = src[q + l]!;
        const h = src[o + 16 + l]! >> (2 * c);
        const a = x[xb + l]!;
        const bb = x[xb + 32 + l]!;
        s1 += ((v & 0xf) | ((h & 1) << 4)) * a;
        s2 += ((v >> 4) | ((h & 2) << 3)) * bb;
        x1 += a;
        x2 += bb;
      }
      sq += kScale(src, o + 4, 2 * c) * s1 + kScale(src, o + 4, 2 * c + 1) * s2;
      sm += kMin(src, o + 4, 2 * c) * x1 + kMin(src, o + 4, 2 * c + 1) * x2;
    }
    sum += d * sq - dmin * sm;
  }
  return sum;
}

export const q5_KCodec: BlockCodec = {
  name: 'q5_k', blockSize: QK_K, blockBytes: Q5_K_BLOCK_BYTES, bitsPerWeight: (Q5_K_BLOCK_BYTES * 8) / QK_K,
  dequantizeRow: dequantizeRowQ5_K,
  quantizeRow: quantizeRowQ5_K,
  dotRow: dotRowQ5_K,
};
