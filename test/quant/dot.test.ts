/**
 * dotRow against the dot product of dequantizeRow's output.
 *
 * dotRow factors scales out of each block (d * sum q*x, minus dmin*m*sum x) and sums in
 * double, while each dequantized element was rounded to f32 once or twice (about 2^-24
 * relative each, at most 3 roundings per element in the formulas used). So
 *   |dotRow - sum y_i x_i| <= ~3 * 2^-24 * sum |y_i x_i| (+ the double sums' error, far smaller).
 * We allow 4e-7 * sum |y_i x_i| (2^-24 * 3 = 1.8e-7), which scales with cancellation
 * instead of with |dot| (a relative-to-|dot| tolerance would be meaningless when terms cancel).
 */
import { describe, expect, it } from 'vitest';
import { getCodec, listCodecs } from '../../src/quant/index.js';
import { mulberry32, normalArray, randomBytes } from './rng.js';

const BUILT_INS = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k', 'q8_k'];

function check(name: string, row: Uint8Array, srcOff: number, x: Float32Array, xOff: number, n: number): void {
  const c = getCodec(name);
  const y = new Float32Array(n);
  c.dequantizeRow(row, srcOff, y, 0, n);
  let ref = 0, mag = 0;
  for (let i = 0; i < n; i++) { ref += y[i]! * x[xOff + i]!; mag += Math.abs(y[i]! * x[xOff + i]!); }
  const got = c.dotRow(row, srcOff, x, xOff, n);
  expect(Math.abs(got - ref)).toBeLessThanOrEqual(4e-7 * mag + 1e-30);
}

describe('dotRow equals the dot of the dequantized row', () => {
  for (const name of BUILT_INS) {
    it(`${name}: quantized normal rows, odd block counts, unaligned offsets`, () => {
      const c = getCodec(name);
      const rng = mulberry32(31 + name.length * 17 + name.charCodeAt(1));
      for (const nBlocks of [1, 3, 7]) {
        const n = nBlocks * (c.blockSize === 1 ? 33 : c.blockSize);
        const w = normalArray(rng, n, 0.05);
        const srcOff = 5;
        const row = new Uint8Array(srcOff + (n / c.blockSize) * c.blockBytes);
        c.quantizeRow(w, 0, n, row, srcOff);
        const x = normalArray(rng, n + 3);
        check(name, row, srcOff, x, 3, n);
      }
    });
  }

  for (const name of ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k', 'q8_0']) {
    it(`${name}: random block bytes (every level/scale/min pattern), scales kept finite`, () => {
      const c = getCodec(name);
      const rng = mulberry32(77 + name.length);
      const nb = c.blockSize === 256 ? 6 : 48;
      const row = randomBytes(rng, nb * c.blockBytes);
      // keep f16 scale fields finite: clear the top exponent bit of each
      const f16Fields = name === 'q6_k' ? [208] : name === 'q4_1' || name === 'q5_1' || name.endsWith('_k') ? [0, 2] : [0];
      for (let b = 0; b < nb; b++) for (const o of f16Fields) row[b * c.blockBytes + o + 1]! &= 0xbf;
      const x = normalArray(rng, nb * c.blockSize);
      check(name, row, 0, x, 0, nb * c.blockSize);
    });
  }

  it('every listed codec (built-ins) was covered', () => {
    const names = listCodecs().map((c) => c.name);
    for (const b of BUILT_INS) expect(names).toContain(b);
  });
});
