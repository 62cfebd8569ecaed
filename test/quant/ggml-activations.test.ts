/**
 * ggmlCompat's activation rounding on hand-worked blocks (x86 quantize_row_q8_0/q8_1:
 * id = 127/amax, round half to even; Q8_1's s = f16(d * sum q)). End to end, the parity tests
 * show it reproduces llama.cpp's logits to ~1e-6 between rounding flips.
 */
import { describe, expect, it } from 'vitest';
import { ggmlVecDotType, q8_1MinCorrection, roundActivationsQ8_0 } from '../../src/kernels/reference/ops.js';
import { f16ToF32, f32ToF16 } from '../../src/tensor/half.js';

describe('ggml activation rounding (ggmlCompat)', () => {
  it('vec_dot types', () => {
    expect(['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q5_0', 'q4_1', 'q5_1', 'q4_k', 'q5_k', 'q6_k'].map(ggmlVecDotType))
      .toEqual(['f32', 'f16', 'bf16', 'q8_0', 'q8_0', 'q8_0', 'q8_1', 'q8_1', 'q8_k', 'q8_k', 'q8_k']);
  });

  it('Q8_0: levels x*127/amax rounded half to even, values level * f16(amax/127)', () => {
    // amax = 127: id = 1, so the levels are the inputs rounded; d = 1 exactly
    const x = new Float32Array(32);
    x.set([127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, -126.6]);
    const y = roundActivationsQ8_0(x);
    expect(Array.from(y.subarray(0, 9))).toEqual([127, 0, 2, 2, -0, -2, -2, 3, -127]);
    // amax = 1: d = f16(1/127), the level of 0.3 is round(38.1) = 38
    const z = new Float32Array(32);
    z[0] = 1; z[1] = 0.3;
    const d = f16ToF32(f32ToF16(Math.fround(1 / 127)));
    const w = roundActivationsQ8_0(z);
    expect(w[0]).toBe(Math.fround(127 * d));
    expect(w[1]).toBe(Math.fround(38 * d));
  });

  it("Q8_1: the min term uses s = f16(d * sum q) per block", () => {
    const x = new Float32Array(64);
    for (let i = 0; i < 64; i++) x[i] = Math.fround(Math.sin(i * 1.7) * (i < 32 ? 1 : 3));
    const sums = new Float64Array(2);
    const y = roundActivationsQ8_0(x, sums);
    for (let b = 0; b < 2; b++) {
      let amax = 0, sq = 0, sv = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]!));
      for (let j = 0; j < 32; j++) { sq += Math.round(y[32 * b + j]! / f16ToF32(f32ToF16(Math.fround(amax / 127)))); sv += y[32 * b + j]!; }
      const s = f16ToF32(f32ToF16(Math.fround(Math.fround(amax / 127) * sq)));
      expect(sums[b]).toBeCloseTo(s - sv, 12);
    }
    // a Q4_1 row of two blocks with mins m0 = 0.5, m1 = -2: correction = m0 * sums[0] + m1 * sums[1]
    const w = new Uint8Array(40);
    const h0 = f32ToF16(0.5), h1 = f32ToF16(-2);
    w[2] = h0 & 255; w[3] = h0 >> 8; w[22] = h1 & 255; w[23] = h1 >> 8;
    expect(q8_1MinCorrection(w, 0, 20, 2, sums, 0)).toBeCloseTo(0.5 * sums[0]! - 2 * sums[1]!, 12);
  });
});
