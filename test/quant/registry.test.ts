/** Codec registry: built-ins agree with DTYPE_INFO, unknown names fail clearly, user codecs plug in. */
import { describe, expect, it } from 'vitest';
import { getCodec, hasCodec, listCodecs, registerCodec, type BlockCodec } from '../../src/quant/index.js';
import { DTYPE_INFO, type DType } from '../../src/tensor/dtype.js';
import { isGemmaError } from '../../src/errors.js';
import { f32ToF16, f16ToF32 } from '../../src/tensor/half.js';
import { mulberry32, normalArray } from './rng.js';

function errorCode(f: () => unknown): string | undefined {
  try { f(); } catch (e) { return isGemmaError(e) ? e.code : 'not a GemmaError'; }
  return undefined;
}

/**
 * A toy user format: 8 elements in 5 bytes. f16 scale d = amax/3.5 (levels -3.5..3.5 in steps
 * of 1, i.e. q in 0..7 maps to (q - 3.5) * d), then 8 x 3-bit levels packed LSB-first into 3 bytes.
 */
const toy3: BlockCodec = {
  name: 'toy3', blockSize: 8, blockBytes: 5, bitsPerWeight: 5,
  dequantizeRow(src, srcOff, out, outOff, n) {
    for (let b = 0; b < n / 8; b++) {
      const o = srcOff + 5 * b;
      const d = f16ToF32(src[o]! | (src[o + 1]! << 8));
      const packed = src[o + 2]! | (src[o + 3]! << 8) | (src[o + 4]! << 16);
      for (let j = 0; j < 8; j++) out[outOff + 8 * b + j] = (((packed >> (3 * j)) & 7) - 3.5) * d;
    }
  },
  quantizeRow(src, srcOff, n, dst, dstOff) {
    for (let b = 0; b < n / 8; b++) {
      let amax = 0;
      for (let j = 0; j < 8; j++) amax = Math.max(amax, Math.abs(src[srcOff + 8 * b + j]!));
      const h = f32ToF16(amax / 3.5);
      const d = f16ToF32(h);
      let packed = 0;
      for (let j = 0; j < 8; j++) {
        const q = d ? Math.max(0, Math.min(7, Math.round(src[srcOff + 8 * b + j]! / d + 3.5))) : 4;
        packed |= q << (3 * j);
      }
      const o = dstOff + 5 * b;
      dst[o] = h & 0xff; dst[o + 1] = h >> 8;
      dst[o + 2] = packed & 0xff; dst[o + 3] = (packed >> 8) & 0xff; dst[o + 4] = (packed >> 16) & 0xff;
    }
  },
  dotRow(src, srcOff, x, xOff, n) {
    const y = new Float32Array(n);
    this.dequantizeRow(src, srcOff, y, 0, n);
    let s = 0;
    for (let i = 0; i < n; i++) s += y[i]! * x[xOff + i]!;
    return s;
  },
};

describe('codec registry', () => {
  it('has a codec for every DType, with DTYPE_INFO block sizes and bits per weight', () => {
    for (const [dt, info] of Object.entries(DTYPE_INFO) as [DType, { blockSize: number; blockBytes: number }][]) {
      const c = getCodec(dt);
      expect(c.name).toBe(dt);
      expect(c.blockSize).toBe(info.blockSize);
      expect(c.blockBytes).toBe(info.blockBytes);
      expect(c.bitsPerWeight).toBeCloseTo((info.blockBytes * 8) / info.blockSize, 12);
    }
    expect(getCodec('q4_k').bitsPerWeight).toBe(4.5);
    expect(getCodec('q6_k').bitsPerWeight).toBe(6.5625);
  });

  it('looks names up case-insensitively (GGML spells them Q4_K)', () => {
    expect(getCodec('Q4_K')).toBe(getCodec('q4_k'));
    expect(getCodec('BF16').name).toBe('bf16');
  });

  it('unknown types throw UNSUPPORTED_DTYPE', () => {
    expect(errorCode(() => getCodec('iq2_xxs'))).toBe('UNSUPPORTED_DTYPE');
    expect(errorCode(() => getCodec(''))).toBe('UNSUPPORTED_DTYPE');
    expect(hasCodec('iq2_xxs')).toBe(false);
  });

  it('a user-defined 3-bit codec works through getCodec', () => {
    registerCodec(toy3);
    const c = getCodec('toy3');
    expect(c).toBe(toy3);
    expect(listCodecs().map((k) => k.name)).toContain('toy3');
    const x = normalArray(mulberry32(3), 64);
    const bytes = new Uint8Array(40);
    c.quantizeRow(x, 0, 64, bytes, 0);
    const y = new Float32Array(64);
    c.dequantizeRow(bytes, 0, y, 0, 64);
    // 8 levels spaced d = amax/3.5 apart covering [-amax, amax]: error <= d/2 (+ f16 rounding of d)
    for (let b = 0; b < 8; b++) {
      let amax = 0;
      for (let j = 0; j < 8; j++) amax = Math.max(amax, Math.abs(x[8 * b + j]!));
      for (let j = 0; j < 8; j++) expect(Math.abs(y[8 * b + j]! - x[8 * b + j]!)).toBeLessThanOrEqual((amax / 3.5) * 0.5 * 1.01);
    }
    expect(c.dotRow(bytes, 0, x, 0, 64)).toBeCloseTo(y.reduce((s, v, i) => s + v * x[i]!, 0), 10);
  });

  it('refuses duplicates, replacing built-ins and inconsistent codecs', () => {
    expect(errorCode(() => registerCodec({ ...toy3 }))).toBe('DUPLICATE'); // toy3 registered above
    expect(errorCode(() => registerCodec({ ...toy3, name: 'q4_0' }))).toBe('DUPLICATE');
    expect(errorCode(() => registerCodec({ ...toy3, name: 'toy3b', bitsPerWeight: 3 }))).toBe('BAD_ARGUMENT');
    expect(errorCode(() => registerCodec({ ...toy3, name: 'toy3c', blockSize: 0 }))).toBe('BAD_ARGUMENT');
    expect(errorCode(() => registerCodec({ ...toy3, name: 'Bad Name' }))).toBe('BAD_ARGUMENT');
    expect(errorCode(() => registerCodec({ ...toy3, name: 'toy3d', dotRow: undefined as unknown as BlockCodec['dotRow'] }))).toBe('BAD_ARGUMENT');
    expect(hasCodec('toy3b')).toBe(false);
  });
});
