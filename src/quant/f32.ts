/**
 * F32 as a codec: blockSize 1, 4 bytes per element, IEEE binary32 little-endian.
 * decode: bits -> float; encode: exact (input is already f32).
 */
import type { BlockCodec } from './codec.js';
import { checkBlocks } from './codec.js';
import { readF32 as readF32_, writeF32 as writeF32_ } from './bytes.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const readF32 = readF32_, writeF32 = writeF32_;

export const F32_BLOCK_BYTES = 4;

export function dequantizeRowF32(src: Uint8Array, srcOff: number, out: Float32Array, outOff: number, n: number): void {
  checkBlocks('f32', 1, 4, src, srcOff, out, outOff, n);
  for (let i = 0; i < n; i++) out[outOff + i] = readF32(src, srcOff + 4 * i);
}

export function quantizeRowF32(src: Float32Array, srcOff: number, n: number, dst: Uint8Array, dstOff: number): void {
  checkBlocks('f32', 1, 4, dst, dstOff, src, srcOff, n);
  for (let i = 0; i < n; i++) writeF32(dst, dstOff + 4 * i, src[srcOff + i]!);
}

export function dotRowF32(src: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): number {
  checkBlocks('f32', 1, 4, src, srcOff, x, xOff, n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += readF32(src, srcOff + 4 * i) * x[xOff + i]!;
  return sum;
}

export const f32Codec: BlockCodec = {
  name: 'f32', blockSize: 1, blockBytes: 4, bitsPerWeight: 32,
  dequantizeRow: dequantizeRowF32,
  quantizeRow: quantizeRowF32,
  dotRow: dotRowF32,
};
