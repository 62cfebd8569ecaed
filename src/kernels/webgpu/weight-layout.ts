/**
 * How a weight sits in GPU memory: its rows repacked so every block starts on a 4-byte word
 * (WGSL reads storage as array<u32>), and split into chunks of whole rows that each fit one
 * storage binding (Gemma 3's 262144 x d embedding is larger than WebGPU's default 128 MiB).
 *
 * Per chunk of `rows` rows, one buffer:
 *   quant section  words [0, rows * rowWords)          row r at r * rowWords
 *   scale section  words [scaleOff, scaleOff + ceil(rows * nb / 2))   one f16 per block
 *
 *   dtype  rowWords       scale section   notes
 *   f32    4 * ceil(K/4)  -               rows zero-padded to a multiple of 4 elements
 *   f16    2 * ceil(K/4)  -               "
 *   bf16   2 * ceil(K/4)  -               "
 *   q8_0   8 * nb         d of each block the 32 int8 quants of each block
 *   q4_0   4 * nb         d               the 16 nibble bytes of each block
 *   q4_k   36 * nb        -               ggml's 144-byte blocks as they are
 *   q6_k   52 * nb        d               ql, qh, scales (208 bytes); d moves out
 * Other formats (q4_1, q5_*, q5_k, q8_k) are dequantized to f32 on upload (correct, 4-7x the
 * memory): the kernels above cover the types Gemma checkpoints ship in.
 */
import { GemmaError } from '../../errors.js';
import { getCodec } from '../../quant/index.js';
import { DTYPE_INFO, type DType } from '../../tensor/dtype.js';

export type GpuDType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_k' | 'q6_k';

export interface WeightLayout {
  /** the kernel format (dq/<gpuDtype>.wgsl) */
  gpuDtype: GpuDType;
  /** elements per row */
  cols: number;
  /** words per row in the quant section */
  rowWords: number;
  /** blocks per row (1 for float formats) */
  nb: number;
  /** f16 scales per row in the scale section (0: none) */
  scalesPerRow: number;
}

interface Repack {
  /** quant words per block */
  qWords: number;
  /** byte ranges of a ggml block copied, in order, into the quant words */
  quantBytes: readonly [number, number][];
  /** byte offset of the f16 d moved to the scale section, or -1 */
  scaleByte: number;
}

const REPACK: Partial<Record<GpuDType, Repack>> = {
  q8_0: { qWords: 8, quantBytes: [[2, 34]], scaleByte: 0 },
  q4_0: { qWords: 4, quantBytes: [[2, 18]], scaleByte: 0 },
  q4_k: { qWords: 36, quantBytes: [[0, 144]], scaleByte: -1 },
  q6_k: { qWords: 52, quantBytes: [[0, 208]], scaleByte: 208 },
};

export function weightLayout(dtype: DType, cols: number): WeightLayout {
  if (!(Number.isInteger(cols) && cols >= 1)) throw new GemmaError('BAD_SHAPE', `weight rows of ${cols} elements`);
  const k4 = Math.ceil(cols / 4);
  switch (dtype) {
    case 'f32': return { gpuDtype: 'f32', cols, rowWords: 4 * k4, nb: 1, scalesPerRow: 0 };
    case 'f16': case 'bf16': return { gpuDtype: dtype, cols, rowWords: 2 * k4, nb: 1, scalesPerRow: 0 };
    case 'q8_0': case 'q4_0': case 'q4_k': case 'q6_k': {
      const { blockSize } = DTYPE_INFO[dtype];
      if (cols % blockSize !== 0) throw new GemmaError('BAD_SHAPE', `${dtype} rows must be whole blocks of ${blockSize}, got ${cols}`);
      const nb = cols / blockSize;
      const r = REPACK[dtype]!;
      return { gpuDtype: dtype, cols, rowWords: r.qWords * nb, nb, scalesPerRow: r.scaleByte >= 0 ? nb : 0 };
    }
    default:
      // dequantized to f32 on upload
      return { gpuDtype: 'f32', cols, rowWords: 4 * k4, nb: 1, scalesPerRow: 0 };
  }
}

/** bytes of a chunk of `rows` rows */
export function chunkBytes(l: WeightLayout, rows: number): number {
  const words = rows * l.rowWords + Math.ceil((rows * l.scalesPerRow) / 2);
  return Math.max(16, Math.ceil(words / 4) * 16); // whole vec4s
}

/** word offset of the scale section of a chunk of `rows` rows */
export function scaleOffset(l: WeightLayout, rows: number): number {
  return rows * l.rowWords;
}

/** the largest number of rows per chunk that fits `maxBytes` */
export function rowsPerChunk(l: WeightLayout, maxBytes: number, name: string): number {
  const perRow = (l.rowWords + l.scalesPerRow / 2) * 4;
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
  const rp = REPACK[l.gpuDtype];
  if (l.gpuDtype === 'f32' || !rp) {
    // formats without a kernel: dequantize through the reference codec
    const codec = getCodec(dtype);
    const f = new Float32Array(l.cols);
    const out = new Float32Array(dst.buffer, dst.byteOffset, (dst.byteLength >> 2));
    for (let r = 0; r < rows; r++) {
      codec.dequantizeRow(src, (r0 + r) * srcRowBytes, f, 0, l.cols);
      out.set(f, r * l.rowWords);
    }
    return;
  }
  const { blockBytes } = DTYPE_INFO[dtype];
  const scaleAt = scaleOffset(l, rows) * 4;
  const whole = rp.quantBytes.length === 1 && rp.quantBytes[0]![0] === 0 && rp.quantBytes[0]![1] === blockBytes;
  if (whole) {
    dst.set(src.subarray(r0 * srcRowBytes, r1 * srcRowBytes));
    return;
  }
  let gb = 0;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < l.nb; b++, gb++) {
      const s = (r0 + r) * srcRowBytes + b * blockBytes;
      let d = (r * l.rowWords + b * rp.qWords) * 4;
      for (const [a, e] of rp.quantBytes) { dst.set(src.subarray(s + a, s + e), d); d += e - a; }
      if (rp.scaleByte >= 0) {
        dst[scaleAt + 2 * gb] = src[s + rp.scaleByte]!;
        dst[scaleAt + 2 * gb + 1] = src[s + rp.scaleByte + 1]!;
      }
    }
  }
}
