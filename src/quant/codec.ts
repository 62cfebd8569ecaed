/**
 * The block codec interface: one implementation per block format (src/quant/<type>.ts).
 *
 * A row of `n` elements is stored as n / blockSize consecutive blocks of blockBytes bytes.
 * Codecs are the reference (oracle) kernels of the engine: plain TypeScript, exact with
 * ggml's dequantization, allocation-free in dequantizeRow / dotRow.
 */
import { GemmaError } from '../errors.js';

export interface BlockCodec {
  /** 'q8_0', ...; for built-ins equals the DType */
  readonly name: string;
  /** elements per block */
  readonly blockSize: number;
  /** bytes per block */
  readonly blockBytes: number;
  /** blockBytes * 8 / blockSize */
  readonly bitsPerWeight: number;
  /** dequantize n elements (n % blockSize == 0) starting at byte offset srcOff */
  dequantizeRow(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void;
  /**
   * quantize n floats into blocks at dst[dstOff..]; optional per-element importance weights
   * (like ggml's imatrix / quant_weights; length >= n, one weight per element of this row)
   */
  quantizeRow(src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number, importance?: Float32Array): void;
  /** dot(dequantized row, x[xOff..xOff+n]) block by block without materializing the row */
  dotRow(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number;
}

/** Whole number >= 0 that is a safe integer. */
function isIndex(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

/**
 * Guards shared by every codec. Throws BAD_ARGUMENT when n is not a whole number of blocks
 * or a range runs past the end of its array. Returns the number of blocks.
 */
export function checkBlocks(
  name: string, blockSize: number, blockBytes: number,
  bytes: Uint8Array, byteOff: number, floats: Float32Array, floatOff: number, n: number,
): number {
  if (!isIndex(n) || n % blockSize !== 0) {
    throw new GemmaError('BAD_ARGUMENT', `${name}: row length ${n} is not a multiple of the block size ${blockSize}`);
  }
  const nb = n / blockSize;
  if (!isIndex(byteOff) || byteOff + nb * blockBytes > bytes.length) {
    throw new GemmaError('BAD_ARGUMENT', `${name}: ${nb} blocks at byte ${byteOff} run past the end of a ${bytes.length}-byte buffer`);
  }
  if (!isIndex(floatOff) || floatOff + n > floats.length) {
    throw new GemmaError('BAD_ARGUMENT', `${name}: ${n} floats at ${floatOff} run past the end of a ${floats.length}-element array`);
  }
  return nb;
}

/** Guard for the optional importance weights of quantizeRow: finite, >= 0, one per element. */
export function checkImportance(name: string, importance: Float32Array | undefined, n: number): void {
  if (importance === undefined) return;
  if (importance.length < n) {
    throw new GemmaError('BAD_ARGUMENT', `${name}: importance has ${importance.length} weights for a row of ${n}`);
  }
  for (let i = 0; i < n; i++) {
    const w = importance[i]!;
    if (!(w >= 0) || w === Infinity) {
      throw new GemmaError('BAD_ARGUMENT', `${name}: importance[${i}] = ${w} is not a finite non-negative weight`);
    }
  }
}

/** Quantizers refuse NaN/Inf input (ggml's behaviour there is undefined). */
export function checkFinite(name: string, src: Float32Array, off: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = src[off + i]!;
    if (!Number.isFinite(v)) {
      throw new GemmaError('BAD_ARGUMENT', `${name}: cannot quantize non-finite value ${v} at element ${i}`);
    }
  }
}
