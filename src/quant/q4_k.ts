/**
 * Q4_K: 256 elements (a super-block of 8 sub-blocks of 32) in 144 bytes (4.5 bits per weight).
 *
 * Block layout (ggml block_q4_K):
 *   byte 0..1     d           f16 super-scale of the sub-block scales
 *   byte 2..3     dmin        f16 super-scale of the sub-block mins
 *   byte 4..15    scales[12]  8 x (6-bit scale sc, 6-bit min m), packed as in k-scales.ts
 *   byte 16..143  qs[128]     4-bit levels; 4 chunks of 32 bytes, chunk c (elements 64c..64c+63):
 *                             byte 32c+l low nibble = element 64c+l (sub-block 2c),
 *                             high nibble = element 64c+32+l (sub-block 2c+1)
 * Decode: x = (d*sc_j) * q - (dmin*m_j)    (each product rounded to f32, q in 0..15)
 *
 * Quantizer without importance (quantize_row_q4_K_ref): per sub-block, weights
 * w = sqrt(mean x^2) + |x| and make_qkx2_quants(32, 15, w, rmin -1, rdelta 0.1, 20 steps)
 * give a float scale and min; the largest of each sets d = max_scale/63, dmin = max_min/63,
 * and sc_j = round(63*scale_j/max_scale), m_j likewise (6 bits). Then every level is
 * recomputed against the *stored* (f16-rounded, 6-bit) scales: q = round((x + dmin*m)/(d*sc))
 * clamped to 0..15 (sub-blocks whose d*sc is 0 keep the search's levels, as in ggml).
 * With importance (quantize_row_q4_K_impl): w = imp * sqrt(sigma2 + x^2), sigma2 = 2*mean x^2
 * over the super-block, make_qkx3_quants(32, 15, w, -0.9, 0.05, 36), and the 8 scales and 8
 * mins are themselves quantized by make_qp_quants(8, 63) weighted by each sub-block's sum of w.
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks, checkFinite, checkImportance } from './codec.js';
import { F16 as F16_, writeF16 as writeF16_ } from './bytes.js';
import { fround as fround_, importanceWeights as importanceWeights_, nearestInt as nearestInt_, sumSquaresF32 as sumSquaresF32_ } from './f32-math.js';
import { kMin as kMin_, kScale as kScale_, packScalesMinsK4 as packScalesMinsK4_ } from './k-scales.js';
import { makeQkx2Quants as makeQkx2Quants_, makeQkx3Quants as makeQkx3Quants_, makeQpQuants as makeQpQuants_, type MinOut } from './scale-search.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const F16 = F16_,
  writeF16 = writeF16_,
  fround = fround_,
  importanceWeights = importanceWeights_,
  nearestInt = nearestInt_,
  sumSquaresF32 = sumSquaresF32_,
  kMin = kMin_,
  kScale = kScale_,
  packScalesMinsK4 = packScalesMinsK4_,
  makeQkx2Quants = makeQkx2Quants_,
  makeQkx3Quants = makeQkx3Quants_,
  makeQpQuants = makeQpQuants_;

export const QK_K = 256;
export const Q4_K_BLOCK_BYTES = 144;

export function dequantizeRowQ4_K(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  const nb = checkBlocks('q4_k', QK_K, Q4_K_BLOCK_BYTES, src, srcOff, out, outOff, n);
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q4_K_BLOCK_BYTES;
    const d = F16[src[o]! | (src[o + 1]! << 8)]!;
    const dmin = F16[src[o + 2]! | (src[o + 3]! << 8)]!;
    for (let c = 0; c < 4; c++) {
      const d1 = fround(d * kScale(src, o + 4, 2 * c));
      const m1 = fround(dmin * kMin(src, o + 4, 2 * c));
      const d2 = fround(d * kScale(src, o + 4, 2 * c + 1));
      const m2 = fround(dmin * kMin(src, o + 4, 2 * c + 1));
      const q = o + 16 + 32 * c;
      const y = outOff + b * QK_K + 64 * c;
      for (let l = 0; l < 32; l++) {
        out[y + l] = fround(d1 * (src[q + l]! & 0xf)) - m1;
        out[y + 32 + l] = fround(d2 * (src[q + l]! >> 4)) - m2;
      }
    }
  }
}

// scratch for one super-block
const L = new Uint8Array(QK_K);
const Laux = new Uint8Array(32);
const weights = new Float32Array(32);
const scales = new Float32Array(8);
const mins = new Float32Array(8);
const sw = new Float32Array(8);
const Ls = new Uint8Array(8);
const Lm = new Uint8Array(8);
const minOut: MinOut = { theMin: 0 };
const F01 = fround(0.1);
const F_M09 = fround(-0.9);
const F_005 = fround(0.05);

/**
 * Shared by Q4_K and Q5_K: for each of the 8 sub-blocks of the super-block at src[x..x+256)
 * search a float scale and min (into `scales`, `mins`), levels into L; then quantize the
 * scales/mins to 6 bits, pack them at dst[o+4..o+16) and store d, dmin at dst[o..o+4).
 * nmax: 15 (Q4_K) or 31 (Q5_K).
 */
export function quantizeSuperBlockScalesK(
  src: Float32Array, x: number, dst: Uint8Array, o: number, nmax: number,
  importance: Float32Array | undefined, impOff: number, levels: Uint8Array,
): void {
  if (importance) {
    const sigma2 = fround(fround(2 * sumSquaresF32(src, x, QK_K)) / QK_K);
    for (let j = 0; j < 8; j++) {
      importanceWeights(importance, impOff + 32 * j, src, x + 32 * j, 32, sigma2, weights);
      let sumw = 0;
      for (let l = 0; l < 32; l++) sumw = fround(sumw + weights[l]!);
      sw[j] = sumw;
      scales[j] = makeQkx3Quants(32, nmax, src, x + 32 * j, weights, 0, levels, 32 * j, minOut, Laux, F_M09, F_005, 36);
      mins[j] = minOut.theMin;
    }
    const dBlock = makeQpQuants(8, 63, scales, Ls, sw);
    const mBlock = makeQpQuants(8, 63, mins, Lm, sw);
    if (nmax === 31) {
      // quantize_row_q5_K_impl clamps to 63 here; q4_K_impl does not (levels are <= 63 anyway)
      for (let j = 0; j < 8; j++) { Ls[j] = Math.min(63, Ls[j]!); Lm[j] = Math.min(63, Lm[j]!); }
    }
    packScalesMinsK4(dst, o + 4, Ls, Lm);
    writeF16(dst, o, dBlock);
    writeF16(dst, o + 2, mBlock);
  } else {
    const rmin = nmax === 15 ? -1 : -0.5;
    const nstep = nmax === 15 ? 20 : 15;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const avX = fround(Math.sqrt(fround(sumSquaresF32(src, x + 32 * j, 32) / 32)));
      for (let l = 0; l < 32; l++) weights[l] = fround(avX + Math.abs(src[x + 32 * j + l]!));
      scales[j] = makeQkx2Quants(32, nmax, src, x + 32 * j, weights, 0, levels, 32 * j, minOut, Laux, rmin, F01, nstep);
      mins[j] = minOut.theMin;
      if (scales[j]! > maxScale) maxScale = scales[j]!;
      if (mins[j]! > maxMin) maxMin = mins[j]!;
    }
    const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
    for (let j = 0; j < 8; j++) {
      // uint8_t ls = nearest_int(...): wraps like C, then clamped to 63
      Ls[j] = Math.min(63, nearestInt(fround(invScale * scales[j]!)) & 0xff);
      Lm[j] = Math.min(63, nearestInt(fround(invMin * mins[j]!)) & 0xff);
    }
    packScalesMinsK4(dst, o + 4, Ls, Lm);
    writeF16(dst, o, fround(maxScale / 63));
    writeF16(dst, o + 2, fround(maxMin / 63));
  }
}

/**
 * Recompute levels against the stored scales: q = nearest((x + dmin*m)/(d*sc)) clamped to
 * 0..nmax. Sub-blocks with d*sc == 0 keep their previous levels (ggml's `if (!d) continue`).
 */
export function requantizeLevelsK(src: Float32Array, x: number, dst: Uint8Array, o: number, nmax: number, levels: Uint8Array): void {
  const d = F16[dst[o]! | (dst[o + 1]! << 8)]!;
  const dmin = F16[dst[o + 2]! | (dst[o + 3]! << 8)]!;
  for (let j = 0; j < 8; j++) {
    const dj = fround(d * kScale(dst, o + 4, j));
    if (dj === 0) continue;
    const dm = fround(dmin * kMin(dst, o + 4, j));
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(fround(fround(src[x + 32 * j + ii]! + dm) / dj));
      levels[32 * j + ii] = Math.max(0, Math.min(nmax, l));
    }
  }
}

export function quantizeRowQ4_K(
  src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number, importance?: Float32Array,
): void {
  const nb = checkBlocks('q4_k', QK_K, Q4_K_BLOCK_BYTES, dst, dstOff, src, srcOff, n);
  checkFinite('q4_k', src, srcOff, n);
  checkImportance('q4_k', importance, n);
  for (let b = 0; b < nb; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * Q4_K_BLOCK_BYTES;
    quantizeSuperBlockScalesK(src, x, dst, o, 15, importance, b * QK_K, L);
    requantizeLevelsK(src, x, dst, o, 15, L);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) dst[o + 16 + 32 * c + l] = L[64 * c + l]! | (L[64 * c + 32 + l]! << 4);
    }
  }
}

/** per sub-block j: d*sc_j * sum q*x - dmin*m_j * sum x */
export function dotRowQ4_K(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  const nb = checkBlocks('q4_k', QK_K, Q4_K_BLOCK_BYTES, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let b = 0; b < nb; b++) {
    const o = srcOff + b * Q4_K_BLOCK_BYTES;
    const d = F16[src[o]! | (src[o + 1]! << 8)]!;
    const dmin = F16[src[o + 2]! | (src[o + 3]! << 8)]!;
    let sq = 0; // sum over sub-blocks of sc_j * sum q*x
    let sm = 0; // sum over sub-blocks of m_j * sum x
    for (let c = 0; c < 4; c++) {
      const q = o + 16 + 32 * c;
      const xb = xOff + b * QK_K + 64 * c;
      let s1 = 0, s2 = 0, x1 = 0, x2 = 0;
      for (let l = 0; l < 32; l++) {
        const v = src[q + l]!;
        const a = x[xb + l]!;
        const bb = x[xb + 32 + l]!;
        s1 += (v & 0xf) * a;
        s2 += (v >> 4) * bb;
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

export const q4_KCodec: BlockCodec = {
  name: 'q4_k', blockSize: QK_K, blockBytes: Q4_K_BLOCK_BYTES, bitsPerWeight: (Q4_K_BLOCK_BYTES * 8) / QK_K,
  dequantizeRow: dequantizeRowQ4_K,
  quantizeRow: quantizeRowQ4_K,
  dotRow: dotRowQ4_K,
};
