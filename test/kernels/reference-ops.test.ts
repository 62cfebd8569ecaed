/**
 * The reference ops against direct definitions written independently here (the oracle
 * needs its own check): softmax attention by explicit masked matrices, RoPE as complex
 * rotation, RMSNorm and GELU from their formulas.
 */
import { describe, expect, it } from 'vitest';
import * as ops from '../../src/kernels/reference/ops.js';
import { randn } from '../helpers/backend-conformance.js';

describe('reference ops', () => {
  it('rmsNorm matches the formula', () => {
    const x = randn(2 * 8, 1), w = randn(8, 2).map((v) => 1 + v), out = new Float32Array(16);
    ops.rmsNorm(out, x, w, 2, 8, 1e-6);
    for (let r = 0; r < 2; r++) {
      const row = Array.from(x.subarray(r * 8, r * 8 + 8));
      const rms = Math.sqrt(row.reduce((a, b) => a + b * b, 0) / 8 + 1e-6);
      row.forEach((v, i) => expect(out[r * 8 + i]).toBeCloseTo((v / rms) * w[i]!, 5));
    }
  });

  it('rope rotates pairs (i, i+D/2) by pos*theta^(-2i/D) like a complex multiply', () => {
    const D = 8, pos = 5, theta = 10000;
    const x = randn(D, 3), y = x.slice();
    ops.rope(y, 1, 1, D, pos, theta, 1);
    for (let i = 0; i < D / 2; i++) {
      const ang = pos / theta ** ((2 * i) / D);
      const re = x[i]! * Math.cos(ang) - x[i + D / 2]! * Math.sin(ang);
      const im = x[i]! * Math.sin(ang) + x[i + D / 2]! * Math.cos(ang);
      expect(y[i]).toBeCloseTo(re, 5);
      expect(y[i + D / 2]).toBeCloseTo(im, 5);
    }
    // linear scaling divides the position
    const z = x.slice();
    ops.rope(z, 1, 1, D, pos * 8, theta, 8);
    z.forEach((v, i) => expect(v).toBeCloseTo(y[i]!, 5));
  });

  it('attention equals explicit masked softmax(QK^T)V with GQA, window and soft-cap', () => {
    const H = 4, G = 2, D = 4, n = 7, W = 3, cap = 5, scale = 0.7;
    const q = randn(n * H * D, 1), k = randn(n * G * D, 2), v = randn(n * G * D, 3);
    const out = new Float32Array(n * H * D);
    ops.attention(out, q, n, k, v, n, { numHeads: H, numKvHeads: G, headDim: D, scale, softcap: cap, window: W, startPos: 0 });
    for (let i = 0; i < n; i++) for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const s: number[] = [];
      for (let j = 0; j < n; j++) {
        const visible = j <= i && j > i - W;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(i * H + h) * D + d]! * k[(j * G + g) * D + d]!;
        s.push(visible ? cap * Math.tanh((dot * scale) / cap) : -Infinity);
      }
      const mx = Math.max(...s), e = s.map((x) => Math.exp(x - mx)), z = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = 0; j < n; j++) acc += (e[j]! / z) * v[(j * G + g) * D + d]!;
        expect(out[(i * H + h) * D + d]).toBeCloseTo(acc, 5);
      }
    }
  });

  it('geluTanh matches the erf GELU closely and its own formula exactly', () => {
    for (const x of [-3, -1, -0.1, 0, 0.5, 2, 4]) {
      const exactTanh = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
      expect(ops.geluTanh(x)).toBeCloseTo(exactTanh, 12);
    }
  });
});
