/**
 * Little-endian field access inside block bytes. Block offsets are arbitrary (a Q8_0 block
 * is 34 bytes, so its f16 scale sits at odd addresses), hence byte-wise reads instead of
 * typed views. No allocation: f16 decodes through the shared 65536-entry table.
 */
import { f16Table as f16Table_, f32ToF16 as f32ToF16_ } from '../tensor/half.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const f16Table = f16Table_, f32ToF16 = f32ToF16_;

/** all 65536 f16 values as f32 */
export const F16: Float32Array = f16Table();

/** u16 little-endian at b[o] */
export function readU16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

/** f16 little-endian at b[o], as a number (exact) */
export function readF16(b: Uint8Array, o: number): number {
  return F16[b[o]! | (b[o + 1]! << 8)]!;
}

/** Store v as f16 (round to nearest even, like GGML_FP32_TO_FP16); returns the stored value. */
export function writeF16(b: Uint8Array, o: number, v: number): number {
  const h = f32ToF16(v);
  b[o] = h & 0xff;
  b[o + 1] = h >>> 8;
  return F16[h]!;
}

// one scratch word for f32 <-> bits (DataView's default big-endian on both sides, so the
// host's byte order never matters)
const scratch = new DataView(new ArrayBuffer(4));

/** f32 little-endian at b[o] */
export function readF32(b: Uint8Array, o: number): number {
  scratch.setUint32(0, (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0);
  return scratch.getFloat32(0);
}

/** Store v as f32 little-endian at b[o]. */
export function writeF32(b: Uint8Array, o: number, v: number): void {
  scratch.setFloat32(0, v);
  const u = scratch.getUint32(0);
  b[o] = u & 0xff;
  b[o + 1] = (u >>> 8) & 0xff;
  b[o + 2] = (u >>> 16) & 0xff;
  b[o + 3] = u >>> 24;
}

/** u32 little-endian at b[o] */
export function readU32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** Store u32 little-endian at b[o]. */
export function writeU32(b: Uint8Array, o: number, u: number): void {
  b[o] = u & 0xff;
  b[o + 1] = (u >>> 8) & 0xff;
  b[o + 2] = (u >>> 16) & 0xff;
  b[o + 3] = (u >>> 24) & 0xff;
}
