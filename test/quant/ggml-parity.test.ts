/**
 * Bit-exactness against llama.cpp itself: the fixture holds what libggml-base.so (the build
 * node-llama-cpp ships) produced for the same inputs. Quantized bytes must be identical
 * (so llama.cpp and gemma-ts write the same GGUF for the same weights), and decoding random
 * blocks must give identical f32 bits.
 */
import { describe, expect, it } from 'vitest';
import { getCodec } from '../../src/quant/index.js';
import { loadGgmlFixture } from './fixtures.js';

const fx = loadGgmlFixture();
const BLOCK_TYPES = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k', 'q8_k'];

/** index of the first differing element, or -1 */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function quantizeRows(name: string, importance?: Float32Array): Uint8Array {
  const c = getCodec(name);
  const rowBytes = (fx.nPerRow / c.blockSize) * c.blockBytes;
  const out = new Uint8Array(rowBytes * fx.rows);
  for (let r = 0; r < fx.rows; r++) c.quantizeRow(fx.input, r * fx.nPerRow, fx.nPerRow, out, r * rowBytes, importance);
  return out;
}

describe(`ggml parity (${fx.reference})`, () => {
  for (const t of BLOCK_TYPES) {
    it(`${t}: quantizeRow bytes equal quantize_row_${t}_ref`, () => {
      const ours = quantizeRows(t);
      const i = firstDiff(ours, fx.quant[t]!.ref);
      const bb = getCodec(t).blockBytes;
      expect(i, i < 0 ? '' : `first difference at byte ${i} (block ${Math.floor(i / bb)}, offset ${i % bb})`).toBe(-1);
    });
    if (fx.quant[t]!.imatrix) {
      it(`${t}: quantizeRow with importance equals ggml's imatrix quantizer`, () => {
        const ours = quantizeRows(t, fx.imatrix);
        const i = firstDiff(ours, fx.quant[t]!.imatrix!);
        const bb = getCodec(t).blockBytes;
        expect(i, i < 0 ? '' : `first difference at byte ${i} (block ${Math.floor(i / bb)}, offset ${i % bb})`).toBe(-1);
      });
    }
    it(`${t}: dequantizeRow of random blocks equals dequantize_row_${t} bit for bit`, () => {
      const { blocks, out } = fx.dequant[t]!;
      const ours = new Float32Array(out.length);
      getCodec(t).dequantizeRow(blocks, 0, ours, 0, out.length);
      expect(firstDiff(new Uint32Array(ours.buffer), new Uint32Array(out.buffer))).toBe(-1);
    });
  }

  it('f16 encode equals ggml_fp32_to_fp16_row (incl. overflow, subnormals, ±inf)', () => {
    const { input, f16 } = fx.floats;
    const out = new Uint8Array(input.length * 2);
    getCodec('f16').quantizeRow(input, 0, input.length, out, 0);
    expect(firstDiff(new Uint16Array(out.buffer), f16)).toBe(-1);
  });

  it('bf16 encode equals ggml_fp32_to_bf16_row_ref (incl. f32 subnormals)', () => {
    const { input, bf16, subnormalInput, subnormalBf16 } = fx.floats;
    const out = new Uint8Array(input.length * 2);
    getCodec('bf16').quantizeRow(input, 0, input.length, out, 0);
    expect(firstDiff(new Uint16Array(out.buffer), bf16)).toBe(-1);
    const out2 = new Uint8Array(subnormalInput.length * 2);
    getCodec('bf16').quantizeRow(subnormalInput, 0, subnormalInput.length, out2, 0);
    expect(firstDiff(new Uint16Array(out2.buffer), subnormalBf16)).toBe(-1);
  });
});
