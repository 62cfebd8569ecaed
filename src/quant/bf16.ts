/**
 * BF16 as a codec: blockSize 1, 2 bytes per element, the top 16 bits of an f32, little-endian.
 * decode: bits << 16; encode: round to nearest even, NaN kept quiet, subnormals kept
 * (as ggml_compute_fp32_to_bf16 in current ggml; older ggml flushed f32 subnormals to zero).
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks } from './codec.js';
import { f32ToBf16 as f32ToBf16_ } from '../tensor/half.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const f32ToBf16 = f32ToBf16_;

// bf16 -> f32 through a shared word: the bf16 bits are the high half of the f32 bits
const word = new Float32Array(1);
const wordBits = new Uint32Array(word.buffer);

function bf16At(b: Uint8Array, o: number): number {
  wordBits[0] = ((b[o]! | (b[o + 1]! << 8)) << 16) >>> 0;
  return word[0]!;
}

export function dequantizeRowBf16(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  checkBlocks('bf16', 1, 2, src, srcOff, out, outOff, n);
  for (let i = 0; i < n; i++) out[outOff + i] = bf16At(src, srcOff + 2 * i);
}

export function quantizeRowBf16(src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number): void {
  checkBlocks('bf16', 1, 2, dst, dstOff, src, srcOff, n);
  for (let i = 0; i < n; i++) {
    const h = f32ToBf16(src[srcOff + i]!);
    dst[dstOff + 2 * i] = h & 0xff;
    dst[dstOff + 2 * i + 1] = h >>> 8;
  }
}

export function dotRowBf16(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  checkBlocks('bf16', 1, 2, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += bf16At(src, srcOff + 2 * i) * x[xOff + i]!;
  return sum;
}

export const bf16Codec: BlockCodec = {
  name: 'bf16', blockSize: 1, blockBytes: 2, bitsPerWeight: 16,
  dequantizeRow: dequantizeRowBf16,
  quantizeRow: quantizeRowBf16,
  dotRow: dotRowBf16,
};
