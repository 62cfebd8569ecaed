/**
 * How a weight sits in GPU memory: its rows repacked so every block starts on a 4-byte word
 * (WGSL reads storage as array<u32>), and split into chunks of whole rows that each fit one
 * storage binding (Gemma 3's 262144 x d embedding is larger than WebGPU's default 128 MiB).
 *
 * Per chunk of `rows` rows, one buffer:
 *   quant section  words [0, rows * rowWords)          row r at r * rowWords
 *   scale section  from word scaleOff: the bytes of each block that would break word
 *                  alignment (its f16 d, or d and m), sideBytes per block, block gb = r*nb + b
 *
 *   dtype  rowWords       side (bytes)   notes
 *   f32    4 * ceil(K/4)  -              rows zero-padded to a multiple of 4 elements
 *   f16    2 * ceil(K/4)  -              "
 *   bf16   2 * ceil(K/4)  -              "
 *   q8_0   8 * nb         d (2)          the 32 int8 quants of each block
 *   q4_0   4 * nb         d (2)          the 16 nibble bytes of each block
 *   q4_1   4 * nb         d, m (4)       "
 *   q5_0   5 * nb         d (2)          qh word, then the 16 nibble bytes
 *   q5_1   6 * nb         -              ggml's 24-byte blocks as they are
 *   q4_k   36 * nb        -              ggml's 144-byte blocks as they are
 *   q5_k   44 * nb        -              ggml's 176-byte blocks as they are
 *   q6_k   52 * nb        d (2)          ql, qh, scales (208 bytes); d moves out
 *   q8_k   73 * nb        -              ggml's 292-byte blocks as they are (bsums unused)
 */
import { GemmaError } from '../../errors.js';
import { DTYPE_INFO, type DType } from '../../tensor/dtype.js';

export type GpuDType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q4_k' | 'q5_k' | 'q6_k' | 'q8_k';

export interface WeightLayout {
  /** the kernel format (dq/<gpuDtype>.wgsl) */
  gpuDtype: GpuDType;
  /** elements per row */
  cols: number;
  /** words per row in the quant section */
  rowWords: number;
  /** blocks per row (1 for float formats) */
  nb: number;
  /** bytes per block in the scale section (0: none) */
  sideBytes: number;
}

interface Repack {
  /** byte range of a ggml block copied into the quant section (a whole number of words) */
  quant: readonly [number, number];
  /** byte range moved to the scale section ([0, 0]: none) */
  side: readonly [number, number];
}

const REPACK: Record<Exclude<GpuDType, 'f32' | 'f16' | 'bf16'>, Repack> = {
  q8_0: { quant: [2, 34], side: [0, 2] },
  q4_0: { quant: [2, 18], side: [0, 2] },
  q4_1: { quant: [4, 20], side: [0, 4] },
  q5_0: { quant: [2, 22], side: [0, 2] },
  q5_1: { quant: [0, 24], side: [0, 0] },
  q4_k: { quant: [0, 144], side: [0, 0] },
  q5_k: { quant: [0, 176], side: [0, 0] },
  q6_k: { quant: [0, 208], side: [208, 210] },
  q8_k: { quant: [0, 292], side: [0, 0] },
};

export function weightLayout(dtype: DType, cols: number): WeightLayout {
  if (!(Number.isInteger(cols) && cols >= 1)) throw new GemmaError('BAD_SHAPE', `weight rows of ${cols} elements`);
  const k4 = Math.ceil(cols / 4);
  if (dtype === 'f32') return { gpuDtype: 'f32', cols, rowWords: 4 * k4, nb: 1, sideBytes: 0 };
  if (dtype === 'f16' || dtype === 'bf16') return { gpuDtype: dtype, cols, rowWords: 2 * k4, nb: 1, sideBytes: 0 };
  const r = REPACK[dtype];
  if (!r) throw new GemmaError('UNSUPPORTED_DTYPE', `no WebGPU kernel for ${dtype}`);
  const { blockSize } = DTYPE_INFO[dtype];
  if (cols % blockSize !== 0) throw new GemmaError('BAD_SHAPE', `${dtype} rows must be whole blocks of ${blockSize}, got ${cols}`);
  const nb = cols / blockSize;
  return { gpuDtype: dtype, cols, rowWords: ((r.quant[1] - r.quant[0]) / 4) * nb, nb, sideBytes: r.side[1] - r.side[0] };
}

/** bytes of a chunk of `rows` rows */
export function chunkBytes(l: WeightLayout, rows: number): number {
  const words = rows * l.rowWords + Math.ceil((rows * l.nb * l.sideBytes) / 4);
  return Math.max(16, Math.ceil(words / 4) * 16); // whole vec4s
}

/** word offset of the scale section of a chunk of `rows` rows */
export function scaleOffset(l: WeightLayout, rows: number): number {
  return rows * l.rowWords;
}

/** the largest number of rows per chunk that fits `maxBytes` */
export function rowsPerChunk(l: WeightLayout, maxBytes: number, name: string): number {
  const perRow = l.rowWords * 4 + l.nb * l.sideBytes;
  let rows = Math.floor((maxBytes - 32) / perRow);
  while (rows > 0 && chunkBytes(l, rows) > maxBytes) rows--;
  if (rows < 1) throw new GemmaError('BACKEND', `one row of ${l.cols} elements (${perRow} bytes) does not fit a ${maxBytes}-byte storage binding`, { tensor: name });
  return rows;
}

/**
 * Write rows [r0, r1) of a weight in its ggml storage bytes (`src`, rows of `srcRowBytes`)
 * into `dst` (the chunk's bytes, zero-filled) in the GPU layout.
 */
export function packRows(dtype: DType, l: WeightLayout, src: Uint8Array, srcRowBytes: number, r0: number, r1: number, dst: Uint8Array): void {
  const rows = r1 - r0;
  const rowBytes = l.rowWords * 4;
  if (dtype === 'f32' || dtype === 'f16' || dtype === 'bf16') {
    if (srcRowBytes === rowBytes) {
      dst.set(src.subarray(r0 * srcRowBytes, r1 * srcRowBytes));
    } else {
      for (let r = 0; r < rows; r++) dst.set(src.subarray((r0 + r) * srcRowBytes, (r0 + r + 1) * srcRowBytes), r * rowBytes);
    }
    return;
  }
  const rp = REPACK[dtype as keyof typeof REPACK];
  const { blockBytes } = DTYPE_INFO[dtype];
  if (rp.quant[0] === 0 && rp.quant[1] === blockBytes) {
    dst.set(src.subarray(r0 * srcRowBytes, r1 * srcRowBytes));
    return;
  }
  const sideAt = scaleOffset(l, rows) * 4;
  const [q0, q1] = rp.quant, [s0, s1] = rp.side;
  const qBytes = q1 - q0, sBytes = s1 - s0;
  let gb = 0;
  for (let r = 0; r < rows; r++) {
    let s = (r0 + r) * srcRowBytes;
    let d = r * l.rowWords * 4;
    for (let b = 0; b < l.nb; b++, gb++, s += blockBytes, d += qBytes) {
      for (let i = 0; i < qBytes; i++) dst[d + i] = src[s + q0 + i]!;
      for (let i = 0; i < sBytes; i++) dst[sideAt + gb * sBytes + i] = src[s + s0 + i]!;
    }
  }
}
