/**
 * Q6_K: 256 elements (16 sub-blocks of 16) in 210 bytes (6.5625 bits per weight), symmetric.
 *
 * Block layout (ggml block_q6_K):
 *   byte 0..127    ql[128]     low 4 bits of the 6-bit levels
 *   byte 128..191  qh[64]      high 2 bits
 *   byte 192..207  scales[16]  int8 scale of each 16-element sub-block (element e uses e>>4)
 *   byte 208..209  d           f16 super-scale
 * Element e: half h = e>>7, r = e&127, group g = r>>5 (0..3), l = r&31;
 *   low 4 bits  = ql[64h + 32*(g&1) + l], low nibble if g < 2 else high nibble
 *   high 2 bits = (qh[32h + l] >> 2g) & 3
 * Decode: x = (d * scales[e>>4]) * (q - 32)    (q in 0..63, each product rounded to f32)
 *
 * Quantizer (quantize_row_q6_K_ref / _impl): per sub-block make_qx_quants(16, 32) with
 * weights x^2 (or the importance weights, unscaled, as ggml's impl does); the signed scale of
 * largest magnitude sets d = max_scale / -128, scales[j] = min(127, round(-128*scale_j/max_scale));
 * then every level is recomputed against the stored d*scale: q = round(x/(d*sc)) + 32 clamped
 * to 0..63 (sub-blocks whose d*sc is 0 keep the search's levels, as in ggml).
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks, checkFinite, checkImportance } from './codec.js';
import { F16 as F16_, writeF16 as writeF16_ } from './bytes.js';
import { fround as fround_, nearestInt as nearestInt_ } from './f32-math.js';
import { GROUP_MAX_EPS, makeQxQuants as makeQxQuants_ } from './scale-search.js';
import { QK_K } from './q4_k.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const F16 = F16_,
  writeF16 = writeF16_,
  fround = fround_,
  nearestInt = nearestInt_,
  makeQxQuants = makeQxQuants_;

export const Q6_K_BLOCK_BYTES = 210;

export function dequantizeRowQ6_K(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  const nb = checkBlocks('q6_k', QK_K, Q6_K_BLOCK_BYTES, src, srcOff, out, outOff, n);
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q6_K_BLOCK_BYTES;
    const d = F16[src[o + 208]! | (src[o + 209]! << 8)]!;
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const sc = o + 192 + 8 * h;
      const y = outOff + b * QK_K + 128 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const hb = src[qh + l]!;
        const q1 = ((src[ql + l]! & 0xf) | ((hb & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32]! & 0xf) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l]! >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32]! >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        out[y + l] = fround(d * ((src[sc + is]! << 24) >> 24)) * q1;
        out[y + l + 32] = fround(d * ((src[sc + is + 2]! << 24) >> 24)) * q2;
        out[y + l + 64] = fround(d * ((src[sc + is + 4]! << 24) >> 24)) * q3;
        out[y + l + 96] = fround(d * ((src[sc + is + 6]! << 24) >> 24)) * q4;
      }
    }
  }
}

const L = new Uint8Array(QK_K);
const scales = new Float32Array(16);
const F128 = -128;

export function quantizeRowQ6_K(
  src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number, importance?: Float32Array,
): void {
  const nb = checkBlocks('q6_k', QK_K, Q6_K_BLOCK_BYTES, dst, dstOff, src, srcOff, n);
  checkFinite('q6_k', src, srcOff, n);
  checkImportance('q6_k', importance, n);
  for (let b = 0; b < nb; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * Q6_K_BLOCK_BYTES;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, src, x + 16 * ib, L, 16 * ib, importance, b * QK_K + 16 * ib);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + Q6_K_BLOCK_BYTES);
      continue;
    }
    const iscale = fround(F128 / maxScale);
    writeF16(dst, o + 208, fround(1 / iscale));
    for (let ib = 0; ib < 16; ib++) {
      dst[o + 192 + ib] = Math.min(127, nearestInt(fround(iscale * scales[ib]!))) & 0xff;
    }
    const d = F16[dst[o + 208]! | (dst[o + 209]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const dj = fround(d * ((dst[o + 192 + j]! << 24) >> 24));
      if (dj === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(src[x + 16 * j + ii]! / dj));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const Lh = 128 * h;
      for (let l = 0; l < 32; l++) {
        const a = L[Lh + l]!, bq = L[Lh + l + 32]!, c = L[Lh + l + 64]!, e = L[Lh + l + 96]!;
        dst[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
        dst[ql + l + 32] = (bq & 0xf) | ((e & 0xf) << 4);
        dst[qh + l] = (a >> 4) | ((bq >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
    }
  }
}

/** per 16-element sub-block j: d*sc_j * (sum q*x - 32 * sum x) */
export function dotRowQ6_K(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  const nb = checkBlocks('q6_k', QK_K, Q6_K_BLOCK_BYTES, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q6_K_BLOCK_BYTES;
    const d = F16[src[o + 208]! | (src[o + 209]! << 8)]!;
    let sb = 0;
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const sc = o + 192 + 8 * h;
      const xb = xOff + b * QK_K + 128 * h;
      // 8 sub-blocks of this half: index 2g + (l >> 4) for group g, lane l
      for (let is = 0; is < 2; is++) {
        let s1 = 0, s2 = 0, s3 = 0, s4 = 0;
        for (let l = 16 * is; l < 16 * is + 16; l++) {
          const hb = src[qh + l]!;
          const lo = src[ql + l]!;
          const hi = src[ql + l + 32]!;
          s1 += (((lo & 0xf) | ((hb & 3) << 4)) - 32) * x[xb + l]!;
          s2 += (((hi & 0xf) | (((hb >> 2) & 3) << 4)) - 32) * x[xb + l + 32]!;
          s3 += (((lo >> 4) | (((hb >> 4) & 3) << 4)) - 32) * x[xb + l + 64]!;
          s4 += (((hi >> 4) | (((hb >> 6) & 3) << 4)) - 32) * x[xb + l + 96]!;
        }
        sb += ((src[sc + is]! << 24) >> 24) * s1 + ((src[sc + is + 2]! << 24) >> 24) * s2
          + ((src[sc + is + 4]! << 24) >> 24) * s3 + ((src[sc + is + 6]! << 24) >> 24) * s4;
      }
    }
    sum += d * sb;
  }
  return sum;
}

export const q6_KCodec: BlockCodec = {
  name: 'q6_k', blockSize: QK_K, blockBytes: Q6_K_BLOCK_BYTES, bitsPerWeight: (Q6_K_BLOCK_BYTES * 8) / QK_K,
  dequantizeRow: dequantizeRowQ6_K,
  quantizeRow: quantizeRowQ6_K,
  dotRow: dotRowQ6_K,
};
