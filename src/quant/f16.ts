/**
 * F16 as a codec: blockSize 1, 2 bytes per element, IEEE binary16 little-endian.
 * decode: exact (table lookup); encode: round to nearest even, overflow -> ±inf,
 * as GGML_FP32_TO_FP16 / ggml_fp32_to_fp16_row.
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks } from './codec.js';
import { F16 as F16_, writeF16 as writeF16_ } from './bytes.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const F16 = F16_, writeF16 = writeF16_;

export function dequantizeRowF16(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  checkBlocks('f16', 1, 2, src, srcOff, out, outOff, n);
  for (let i = 0, o = srcOff; i < n; i++, o += 2) out[outOff + i] = F16[src[o]! | (src[o + 1]! << 8)]!;
}

export function quantizeRowF16(src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number): void {
  checkBlocks('f16', 1, 2, dst, dstOff, src, srcOff, n);
  for (let i = 0; i < n; i++) writeF16(dst, dstOff + 2 * i, src[srcOff + i]!);
}

export function dotRowF16(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  checkBlocks('f16', 1, 2, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let i = 0, o = srcOff; i < n; i++, o += 2) sum += F16[src[o]! | (src[o + 1]! << 8)]! * x[xOff + i]!;
  return sum;
}

export const f16Codec: BlockCodec = {
  name: 'f16', blockSize: 1, blockBytes: 2, bitsPerWeight: 16,
  dequantizeRow: dequantizeRowF16,
  quantizeRow: quantizeRowF16,
  dotRow: dotRowF16,
};
