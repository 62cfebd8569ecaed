/**
 * Tensor element/block types. Names follow ggml (lower case); `GGML_TYPE_ID` gives the
 * numeric ids GGUF files use. Quantized types are stored in blocks of `blockSize`
 * elements taking `blockBytes` bytes (along the row, i.e. the innermost dimension).
 */
export type DType =
  | 'f32' | 'f16' | 'bf16'
  | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1'
  | 'q4_k' | 'q5_k' | 'q6_k' | 'q8_k';

export interface DTypeInfo {
  /** elements per block (1 for plain floats) */
  blockSize: number;
  /** bytes per block */
  blockBytes: number;
}

export const DTYPE_INFO: Record<DType, DTypeInfo> = {
  f32: { blockSize: 1, blockBytes: 4 },
  f16: { blockSize: 1, blockBytes: 2 },
  bf16: { blockSize: 1, blockBytes: 2 },
  q8_0: { blockSize: 32, blockBytes: 34 },   // f16 d, 32 x i8
  q4_0: { blockSize: 32, blockBytes: 18 },   // f16 d, 16 bytes of nibbles
  q4_1: { blockSize: 32, blockBytes: 20 },   // f16 d, f16 m, 16 bytes
  q5_0: { blockSize: 32, blockBytes: 22 },   // f16 d, u32 high bits, 16 bytes
  q5_1: { blockSize: 32, blockBytes: 24 },   // f16 d, f16 m, u32 qh, 16 bytes
  q4_k: { blockSize: 256, blockBytes: 144 }, // f16 d, f16 dmin, 12 scales, 128 qs
  q5_k: { blockSize: 256, blockBytes: 176 }, // f16 d, f16 dmin, 12 scales, 32 qh, 128 qs
  q6_k: { blockSize: 256, blockBytes: 210 }, // 128 ql, 64 qh, 16 i8 scales, f16 d
  q8_k: { blockSize: 256, blockBytes: 292 }, // f32 d, 256 i8, 16 x i16 bsums
};

/** GGML numeric type ids as stored in GGUF tensor infos. */
export const GGML_TYPE_ID: Record<DType, number> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q5_0: 6, q5_1: 7, q8_0: 8,
  q4_k: 12, q5_k: 13, q6_k: 14, q8_k: 15, bf16: 30,
};

const ID_TO_DTYPE = new Map<number, DType>(Object.entries(GGML_TYPE_ID).map(([k, v]) => [v, k as DType]));

/** Names of ggml types we do not support, for clear error messages. */
export const GGML_TYPE_NAMES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 4: 'Q4_2(removed)', 5: 'Q4_3(removed)', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1',
  10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS',
  18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16',
  26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
};

export function dtypeFromGgmlId(id: number): DType | undefined {
  return ID_TO_DTYPE.get(id);
}

export function ggmlTypeName(id: number): string {
  return GGML_TYPE_NAMES[id] ?? `unknown(${id})`;
}

export function isQuantized(dt: DType): boolean {
  return DTYPE_INFO[dt].blockSize > 1;
}

/**
 * Bytes needed for `n` elements of `dt` laid out in rows of `rowLen` elements.
 * Returns undefined when `rowLen` is not a whole number of blocks.
 */
export function byteSize(dt: DType, shape: readonly number[]): number | undefined {
  const { blockSize, blockBytes } = DTYPE_INFO[dt];
  const rowLen = shape.length ? shape[shape.length - 1]! : 1;
  if (rowLen % blockSize !== 0) return undefined;
  let n = 1;
  for (const d of shape) n *= d;
  return (n / blockSize) * blockBytes;
}

/** bytes per row of `rowLen` elements */
export function rowBytes(dt: DType, rowLen: number): number {
  const { blockSize, blockBytes } = DTYPE_INFO[dt];
  return (rowLen / blockSize) * blockBytes;
}
