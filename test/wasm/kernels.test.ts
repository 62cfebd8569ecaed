// Kernel-level checks of the wasm backend beyond the shared conformance suite:
// - quantized matmuls against an independent model of their arithmetic (activations
//   quantized per the spec in assembly/quantize.ts, weights dequantized by the reference
//   codecs, exact sums in f64): agreement to f32 rounding, not just to the int8 tolerance;
// - float matmuls with odd k (tails) and odd row counts;
// - element-wise ops, RoPE and attention on odd sizes (vector tails), saturation;
// - builds: relaxed vs SIMD128, shared vs unshared memory; self-test; errors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isGemmaError } from '../../src/errors.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import type { DType } from '../../src/tensor/dtype.js';
import { getCodec } from '../../src/quant/index.js';
import { Pair, maxRelErr, randn, randomWeight } from '../helpers/backend-conformance.js';
import { wasmBackend } from './helpers.js';
import { modelMatmul, quantizeActs } from './act-model.js';

const QUANT: DType[] = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k'];

// the engine's own build (relaxed, or dot-add), and the SIMD128 build that engines without relaxed
// SIMD run (Safari, Firefox): its prefill kernels are its own (int16 widened groups)
describe.each([['the engine\'s build', {}], ['SIMD128 build', { relaxed: false as const }]])('wasm quantized matmul = its integer arithmetic (exact activation model), %s', (_, opts) => {
  for (const dtype of QUANT) {
    it(dtype, async () => {
      const be = await wasmBackend({ threads: 1, ...opts });
      if ('relaxed' in opts) expect(be.info.relaxed).toBe(false);
      const B = dtype.endsWith('_k') ? 256 : 32;
      /** the backend's product and the exact arithmetic model's */
      const run = async (w: ReturnType<typeof randomWeight>, x: Float32Array, T: number, k: number, m: number) => {
        const wt = be.uploadWeight({ ...w, data: w.data.slice() });
        const xt = be.tensor(T, k), ot = be.tensor(T, m);
        be.upload(xt, x);
        be.matmul(ot, xt, wt);
        return { got: await be.download(ot), want: modelMatmul(dtype, w.data, m, k, x, T) };
      };
      // the last cases span several activation-row tiles (~512 KiB of quantized rows each; the
      // prefill kernels pack each tile's rows four at a time: 60 rows a tile for Q8_0 at k = 4096,
      // 113 for Q4_0/Q4_1, 38 for the K-quants)
      for (const [T, k, m] of [[1, 2 * B, 37], [5, 3 * B, 6], [2, B, 1], [81, 4096, 5], [130, 4096, 3]] as const) {
        const w = randomWeight(dtype, m, k, 100 + m + k);
        const x = randn(T * k, 7 + T, 1.5);
        // a block of zeros (d = 0) and an outlier, per row
        for (let t = 0; t < T; t++) {
          x.fill(0, t * k, t * k + B);
          x[t * k + k - 1] = 40;
        }
        const { got, want } = await run(w, x, T, k, m);
        expect(maxRelErr(got, want), `${dtype} T=${T} k=${k} m=${m}`).toBeLessThan(1e-5);
      }
      // small weights (std 0.004): many f16 block scales are subnormal (the K-quants' super-block
      // scales already at real weights' std ~0.02), which the kernels convert without
      // arithmetic on f32 subnormals (common.ts f16, f16x4x); relative to the largest output
      for (const [T, m] of [[1, 37], [9, 13]] as const) {
        const k = 2 * B;
        const w = randomWeight(dtype, m, k, 5 + T, 0.004);
        if (dtype.endsWith('_k')) {
          // the f16 d of each super-block: Q4_K/Q5_K at byte 0, Q6_K at byte 208
          const bb = dtype === 'q4_k' ? 144 : dtype === 'q5_k' ? 176 : 210, at = dtype === 'q6_k' ? 208 : 0;
          let sub = 0;
          for (let o = 0; o < w.data.length; o += bb) if (((w.data[o + at + 1]! << 8 | w.data[o + at]!) & 0x7c00) === 0) sub++;
          expect(sub, `${dtype}: subnormal super-block scales`).toBeGreaterThan(0);
        }
        const { got, want } = await run(w, randn(T * k, 3 + T, 1.5), T, k, m);
        let d = 0, s = 0;
        for (let i = 0; i < want.length; i++) { d = Math.max(d, Math.abs(got[i]! - want[i]!)); s = Math.max(s, Math.abs(want[i]!)); }
        expect(s, `${dtype} small weights: outputs`).toBeGreaterThan(0);
        expect(d / s, `${dtype} small weights T=${T} m=${m}`).toBeLessThan(1e-5);
      }
      be.dispose();
    });
  }
});

describe('wasm activation quantization = its spec, byte for byte', () => {
  it('Q8A and Q8K rows: quants (int8 and int16), scales and sums; ties to even, zero blocks, subnormals', async () => {
    const be = await wasmBackend({ threads: 1 });
    type Ex = Record<string, (...a: number[]) => number>;
    const ex = (be as unknown as { ex: Ex }).ex;
    const addr = (t: unknown) => (t as { ptr: number }).ptr;
    const k = 512, rows = 3;
    const x = randn(rows * k, 11, 2);
    // row 0: blocks of amax 127 (scale 1) and 254 (scale 1/2) holding exact halves: every
    // quant a tie (2.5 -> 2, -3.5 -> -4, 0.5 -> 0, 126.5 -> 126, 5 / 2 -> 2, -7 / 2 -> -4)
    for (let j = 0; j < 64; j++) x[j] = j === 0 ? 127 : ((j % 2 ? -1 : 1) * ((j % 127) + 0.5));
    for (let j = 64; j < 96; j++) x[j] = j === 64 ? -254 : (j % 3 ? 1 : -1) * (2 * (j % 50) + 1);
    x.fill(0, 96, 128); // a zero block
    x[130] = -0; x[131] = 1e-41; x[132] = -3e-42; // signed zero and subnormals in a normal block
    x.fill(1e-40, 160, 192); x[170] = 0; // subnormals and a zero: below 2^-120, all quants 0
    x.fill(-1e-37, 192, 224); x[200] = 0; // normal but below 2^-120: 127 / amax would overflow
    for (let j = 224; j < 256; j++) x[j] = x[j]! * 1e-36; // just above: 127 / amax ~ 6e37, finite
    // row 2: a super-block of zeros (Q8K) and one whose outlier makes the rest round to 0 / +-1
    x.fill(0, 2 * k, 2 * k + 256);
    x[2 * k + 300] = 1e4;
    const xt = be.tensor(rows, k);
    be.upload(xt, x);
    const heap = () => (be as unknown as { heap: { u8: Uint8Array } }).heap.u8;
    for (const [scheme, B] of [['q8a', 32], ['q8k', 256]] as const) {
      const stride = Math.ceil((scheme === 'q8a' ? ex.q8aRowBytes!(k) : ex.q8kRowBytes!(k)) / 16) * 16;
      const xq = be.tensor(rows, stride / 4);
      (scheme === 'q8a' ? ex.quantQ8A! : ex.quantQ8K!)(addr(xt), k, addr(xq), stride, 0, rows);
      const bytes = heap().slice(addr(xq), addr(xq) + rows * stride);
      const dv = new DataView(bytes.buffer);
      for (let t = 0; t < rows; t++) {
        const { q, d } = quantizeActs(x, t * k, k, B);
        const o = t * stride;
        const q8 = Array.from({ length: k }, (_, j) => dv.getInt8(o + j));
        const q16 = Array.from({ length: k }, (_, j) => dv.getInt16(o + k + 2 * j, true));
        expect(q8, `${scheme} row ${t} int8 quants`).toEqual(Array.from(q));
        expect(q16, `${scheme} row ${t} int16 quants`).toEqual(Array.from(q));
        const ds = Array.from({ length: k / B }, (_, b) => dv.getFloat32(o + 3 * k + 4 * b, true));
        expect(ds, `${scheme} row ${t} scales`).toEqual(Array.from(d));
        // sums: of each block (Q8A), of each 16 (Q8K)
        const S = scheme === 'q8a' ? 32 : 16, so = o + 3 * k + 4 * (k / B);
        const sums = Array.from({ length: k / S }, (_, i) => dv.getInt32(so + 4 * i, true));
        const want = Array.from({ length: k / S }, (_, i) => q.slice(i * S, (i + 1) * S).reduce((a, b) => a + b, 0));
        expect(sums, `${scheme} row ${t} sums`).toEqual(want);
      }
      be.freeTensor(xq);
    }
    be.dispose();
  });
});

describe('wasm Q8_0 matmul at the extremes of its integer ranges', () => {
  it('weights -128/127 against activations at +-127 (largest pair sums of the relaxed dot), odd rows', async () => {
    // Q8_0 rows of d = 1 and levels drawn from {-128, -127, 127, 0}, with whole blocks of one
    // value; activations quantize to +-127 exactly (|x| = amax): every product is at its bound
    const k = 96, m = 7, T = 3;
    const data = new Uint8Array(m * (k / 32) * 34);
    const lv = [-128, -127, 127, 0];
    let s = 3;
    for (let r = 0; r < m; r++) {
      for (let b = 0; b < k / 32; b++) {
        const o = (r * (k / 32) + b) * 34;
        data[o] = 0x00; data[o + 1] = 0x3c; // f16 1.0
        const same = (r + b) % 3 === 0;
        for (let j = 0; j < 32; j++) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          data[o + 2 + j] = lv[same ? r % 4 : (s >>> 16) % 4]! & 0xff;
        }
      }
    }
    const x = new Float32Array(T * k);
    for (let i = 0; i < x.length; i++) x[i] = (i * 7 + (i >> 3)) % 3 === 0 ? -2 : 2;
    x.fill(-2, k, 2 * k); // one row all negative
    for (const threads of [1, 2]) {
      for (const relaxed of [true, false]) {
        const be = await wasmBackend({ threads, relaxed });
        const wt = be.uploadWeight({ name: 'w', dtype: 'q8_0', shape: [m, k], data: data.slice() });
        const xt = be.tensor(T, k), ot = be.tensor(T, m);
        be.upload(xt, x);
        be.matmul(ot, xt, wt);
        const got = await be.download(ot);
        expect(maxRelErr(got, modelMatmul('q8_0', data, m, k, x, T)), `threads ${threads} relaxed ${relaxed}`).toBeLessThan(1e-6);
        be.dispose();
      }
    }
  });
});

describe('wasm fused matmuls on one input (one pool round)', () => {
  it('mixed activation schemes (Q8A, Q8K, f32) on one row and on several, 1 and 3 threads', async () => {
    const k = 512;
    const types: DType[] = ['q8_0', 'q6_k', 'q4_0', 'f16', 'q4_k'];
    for (const threads of [1, 3]) {
      const P = new Pair(await wasmBackend({ threads }), new ReferenceBackend());
      for (const T of [1, 3]) {
        const x = randn(T * k, 11 + T, 1.5);
        const ws = types.map((dtype, i) => randomWeight(dtype, 7 + 4 * i, k, 200 + i));
        const wt = ws.map((w) => P.be.uploadWeight({ ...w, data: w.data.slice() }));
        const xt = P.be.tensor(T, k);
        P.be.upload(xt, x);
        const outs = ws.map((w) => P.be.tensor(T, w.shape[0]!));
        // consecutive matmuls on one input: the backend runs them as one job
        ws.forEach((_, i) => P.be.matmul(outs[i]!, xt, wt[i]!));
        for (let i = 0; i < ws.length; i++) {
          const got = await P.be.download(outs[i]!);
          const w = ws[i]!;
          const want = types[i] === 'f16'
            ? await (async () => { const r = P.ref; const rw = r.uploadWeight(w); const rx = r.tensor(T, k); r.upload(rx, x); const ro = r.tensor(T, w.shape[0]!); r.matmul(ro, rx, rw); return r.download(ro); })()
            : modelMatmul(types[i]!, w.data, w.shape[0]!, k, x, T);
          expect(maxRelErr(got, want), `${types[i]} threads ${threads} T ${T}`).toBeLessThan(2e-5);
        }
      }
    }
  });
});

describe('wasm float matmul: odd k (tails), odd rows, several activation rows', () => {
  for (const dtype of ['f32', 'f16', 'bf16'] as DType[]) {
    it(dtype, async () => {
      const P = new Pair(await wasmBackend({ threads: 1 }), new ReferenceBackend());
      for (const [T, k, m] of [[1, 7, 5], [3, 33, 9], [2, 100, 3], [1, 1, 2], [4, 257, 13], [41, 8203, 3]] as const) {
        const w = P.weight(randomWeight(dtype, m, k, k + m));
        const x = P.tensor(T, k, randn(T * k, k));
        const out = P.tensor(T, m);
        P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
        expect(await P.compare(out), `${dtype} [${T}x${k}] x [${m}x${k}]^T`).toBeLessThan(2e-6);
      }
    });
  }
});

describe('wasm f16/bf16 weights: every bit pattern class converts exactly', () => {
  it('zeros, subnormals, extremes, both signs (matmul with one-hot inputs reads single weights)', async () => {
    const P = new Pair(await wasmBackend(), new ReferenceBackend());
    const f16 = [0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x0400, 0x8400, 0x3c00, 0xbc00, 0x7bff, 0xfbff, 0x3555, 0x1234, 0x9234, 0x0200];
    const bf16 = [0x0000, 0x8000, 0x0001, 0x8001, 0x007f, 0x0080, 0x3f80, 0xbf80, 0x7f7f, 0xff7f, 0x4049, 0xc049, 0x3e80, 0x1234, 0x9234, 0x0100];
    for (const [dtype, bits] of [['f16', f16], ['bf16', bf16]] as const) {
      const m = 2, k = bits.length; // row 0: the patterns, row 1: reversed
      const data = new Uint16Array(m * k);
      bits.forEach((b, i) => { data[i] = b; data[k + k - 1 - i] = b; });
      const w = P.weight({ name: dtype, dtype, shape: [m, k], data: new Uint8Array(data.buffer) });
      for (let j = 0; j < k; j++) {
        const onehot = new Float32Array(k); onehot[j] = 1;
        const x = P.tensor(1, k, onehot), out = P.tensor(1, m);
        P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
        expect(Array.from(await P.be.download(out[0])), `${dtype} element ${j}`).toEqual(Array.from(await P.ref.download(out[1])));
      }
    }
  });
});

describe('wasm argmax', () => {
  it('first index on ties (across SIMD lanes and the tail), NaN never wins, all -Infinity gives 0', async () => {
    const P = new Pair(await wasmBackend(), new ReferenceBackend());
    const rows = [
      [1, 5, 5, 2, 5, 0, 5, 1, 1],                   // ties in lanes 1, 2 and the next vector
      [0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3],             // max first reached in the tail
      [NaN, 2, NaN, 7, NaN, NaN, 7, 1, NaN, NaN, NaN],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      [9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9],
    ];
    for (const r of rows) {
      const t = P.tensor(1, r.length, Float32Array.from(r));
      expect(Array.from(await P.be.argmax(t[0])), JSON.stringify(r)).toEqual(Array.from(await P.ref.argmax(t[1])));
    }
  });

  it('long rows: ties between the kernel\'s four 16-value chains, in the 4-value steps and the scalar tail', async () => {
    const P = new Pair(await wasmBackend(), new ReferenceBackend());
    // n = 16 q + 4 s + t: every chain (i mod 16 in 0-3, 4-7, 8-11, 12-15), the 4-value steps
    // after the last 16 and the scalar tail; the maximum placed at two or three of those places
    for (const n of [16, 37, 103, 1000]) {
      for (const at of [[33, 21], [21, 33], [5, 14], [14, 5, 2], [n - 1, n - 2], [n - 3, 7], [0, n - 1]]) {
        if (at.some((i) => i >= n)) continue;
        const x = randn(n, n + at[0]!, 1);
        x[Math.floor(n / 2)] = NaN; // never wins
        for (const i of at) x[i] = 50;
        const t = P.tensor(1, n, x);
        const want = Array.from(await P.ref.argmax(t[1]));
        expect(want, 'reference: the first of the tied maxima').toEqual([Math.min(...at.filter((i) => i !== Math.floor(n / 2)))]);
        expect(Array.from(await P.be.argmax(t[0])), JSON.stringify({ n, at })).toEqual(want);
      }
    }
  });
});

describe('wasm element-wise ops, RoPE and attention on odd sizes', () => {
  it('rmsNorm with a vector tail; geglu and softcap with saturating inputs', async () => {
    const P = new Pair(await wasmBackend(), new ReferenceBackend());
    for (const [rows, cols, n] of [[2, 33, 33], [3, 42, 6], [1, 5, 5]] as const) {
      const w = P.weight({ name: 'n', dtype: 'f32', shape: [n], data: new Uint8Array(randn(n, 2, 0.3).map((v) => 1 + v).buffer) });
      const x = P.tensor(rows, cols, randn(rows * cols, 3, 3));
      const out = P.tensor(rows, cols);
      P.be.rmsNorm(out[0], x[0], w[0], 1e-6); P.ref.rmsNorm(out[1], x[1], w[1], 1e-6);
      expect(await P.compare(out)).toBeLessThan(1e-6);
    }
    const big = Float32Array.from([-40, -12, -9.5, -3, -0.5, -1e-4, 0, 1e-4, 0.3, 2, 7.5, 11, 35]);
    const g = P.tensor(1, big.length, big), u = P.tensor(1, big.length, randn(big.length, 4));
    P.be.geglu(g[0], g[0], u[0]); P.ref.geglu(g[1], g[1], u[1]);
    expect(await P.compare(g)).toBeLessThan(1e-6);
    const s = P.tensor(1, big.length, big.map((v) => v * 30));
    P.be.softcap(s[0], 30); P.ref.softcap(s[1], 30);
    expect(await P.compare(s)).toBeLessThan(1e-6);
  });

  it('rope with half-dims that are not multiples of 4', async () => {
    const P = new Pair(await wasmBackend(), new ReferenceBackend());
    for (const [rows, heads, D, start] of [[3, 2, 6, 5], [2, 3, 18, 100], [1, 1, 2, 7]] as const) {
      const x = P.tensor(rows, heads * D, randn(rows * heads * D, D));
      const p = { headDim: D, startPos: start, theta: 10000, scaling: 2 };
      P.be.rope(x[0], p); P.ref.rope(x[1], p);
      expect(await P.compare(x)).toBeLessThan(1e-6);
    }
  });

  it('rope: cached cos/sin tables stay right when bases, positions and row counts cycle (more keys than slots)', async () => {
    const P = new Pair(await wasmBackend(), new ReferenceBackend());
    const combos = [
      { rows: 1, theta: 10000, scaling: 1, start: 9 }, { rows: 1, theta: 1e6, scaling: 8, start: 9 },
      { rows: 3, theta: 10000, scaling: 1, start: 9 }, { rows: 1, theta: 10000, scaling: 1, start: 10 },
      { rows: 2, theta: 500, scaling: 2, start: 0 },
    ];
    for (let i = 0; i < 23; i++) {
      const c = combos[(i * 3) % combos.length]!, D = 10, heads = 2;
      const x = P.tensor(c.rows, heads * D, randn(c.rows * heads * D, 50 + i));
      const p = { headDim: D, startPos: c.start, theta: c.theta, scaling: c.scaling };
      P.be.rope(x[0], p); P.ref.rope(x[1], p);
      expect(await P.compare(x), JSON.stringify({ i, ...c })).toBeLessThan(1e-6);
    }
  });

  it('attention: one query row over enough keys to run on the pool (decode shape, GQA and MQA)', async () => {
    const P = new Pair(await wasmBackend({ threads: 2 }), new ReferenceBackend());
    for (const c of [{ H: 4, G: 1, D: 256, keys: 41 }, { H: 5, G: 5, D: 36, keys: 200 }]) {
      const kvDim = c.G * c.D;
      const caches = [P.be.createKvLayer(c.keys + 1, kvDim), P.ref.createKvLayer(c.keys + 1, kvDim)] as const;
      const k = P.tensor(c.keys, kvDim, randn(c.keys * kvDim, 1, 2)), v = P.tensor(c.keys, kvDim, randn(c.keys * kvDim, 2));
      P.be.kvStore(caches[0], k[0], v[0], 0); P.ref.kvStore(caches[1], k[1], v[1], 0);
      const q = P.tensor(1, c.H * c.D, randn(c.H * c.D, 3, 2)), out = P.tensor(1, c.H * c.D);
      const p = { numHeads: c.H, numKvHeads: c.G, headDim: c.D, scale: 0.1, softcap: null, window: null, startPos: c.keys - 1 };
      P.be.attention(out[0], q[0], caches[0], p); P.ref.attention(out[1], q[1], caches[1], p);
      expect(await P.compare(out), JSON.stringify(c)).toBeLessThan(2e-6);
    }
  });

  it('attention: decode over key ranges merged afterwards (hundreds of keys, window, soft-cap, ring buffer), any thread count', async () => {
    // one query row over more than 64 keys is split into ranges of 64 keys per KV head
    // (assembly/attention.ts) and merged by attnCombine: against the reference, and the same
    // bits on 1 and 3 threads (the ranges depend on the keys only)
    const ref = new ReferenceBackend();
    const outs: Float32Array[][] = [];
    for (const threads of [1, 3]) {
      const be = await wasmBackend({ threads });
      const P = new Pair(be, ref);
      const got: Float32Array[] = [];
      for (const c of [
        { H: 4, G: 1, D: 64, keys: 700, window: null, softcap: null, cap: 800 },
        { H: 8, G: 4, D: 36, keys: 520, window: 300, softcap: 30, cap: 520 },
        { H: 8, G: 1, D: 20, keys: 900, window: null, softcap: null, cap: 600 }, // ring buffer: the last 600
        { H: 2, G: 2, D: 16, keys: 257, window: null, softcap: 5, cap: 300 },
        { H: 4, G: 1, D: 256, keys: 65, window: null, softcap: null, cap: 128 }, // a last range of one key
        { H: 4, G: 1, D: 32, keys: 130, window: 100, softcap: 20, cap: 160 },
      ]) {
        const kvDim = c.G * c.D;
        const caches = [P.be.createKvLayer(c.cap, kvDim), P.ref.createKvLayer(c.cap, kvDim)] as const;
        for (let pos = 0; pos < c.keys - 1; pos += c.cap) {
          const n = Math.min(c.cap, c.keys - 1 - pos);
          const k = P.tensor(n, kvDim, randn(n * kvDim, pos + 1, 2)), v = P.tensor(n, kvDim, randn(n * kvDim, pos + 2));
          P.be.kvStore(caches[0], k[0], v[0], pos); P.ref.kvStore(caches[1], k[1], v[1], pos);
        }
        const pos = c.keys - 1;
        const k = P.tensor(1, kvDim, randn(kvDim, 7, 2)), v = P.tensor(1, kvDim, randn(kvDim, 8));
        P.be.kvStore(caches[0], k[0], v[0], pos); P.ref.kvStore(caches[1], k[1], v[1], pos);
        const q = P.tensor(1, c.H * c.D, randn(c.H * c.D, 9, 2)), out = P.tensor(1, c.H * c.D);
        const p = { numHeads: c.H, numKvHeads: c.G, headDim: c.D, scale: 0.15, softcap: c.softcap, window: c.window, startPos: pos };
        P.be.attention(out[0], q[0], caches[0], p); P.ref.attention(out[1], q[1], caches[1], p);
        expect(await P.compare(out), JSON.stringify({ threads, ...c })).toBeLessThan(2e-6);
        got.push(await be.download(out[0]));
      }
      outs.push(got);
      be.dispose();
    }
    outs[1]!.forEach((o, i) => expect(Array.from(o), `case ${i}`).toEqual(Array.from(outs[0]![i]!)));
  });

  it('toF16 (the f16 KV cache store) = round to nearest even, bit for bit: ties, subnormals, overflow, inf, NaN, signed zero', async () => {
    const { f32ToF16 } = await import('../../src/tensor/half.js');
    const be = await wasmBackend({ threads: 1 });
    type Ex = Record<string, (...a: number[]) => number>;
    const ex = (be as unknown as { ex: Ex }).ex;
    const addr = (t: unknown) => (t as { ptr: number }).ptr;
    const vals: number[] = [0, -0, 1, -1, 65504, -65504, 65519.99, 65520, 65536, 1e6, -1e30, Infinity, -Infinity, NaN,
      2 ** -14, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -25, 2 ** -26, 1e-45, -3e-39, 6.1e-5, -5.9e-8];
    // ties: halfway between neighbouring f16 values (normal and subnormal), both parities
    for (const e of [-20, -14, -3, 0, 5, 15]) for (let m = 0; m < 6; m++) vals.push((1 + (2 * m + 1) / 2048) * 2 ** e, -(1 + (2 * m + 1) / 2048) * 2 ** e);
    for (let m = 1; m < 8; m++) vals.push((m + 0.5) * 2 ** -24);
    const r = randn(300, 5, 3);
    for (let i = 0; i < r.length; i++) vals.push(r[i]! * 10 ** ((i % 13) - 6));
    for (const n of [vals.length, 1, 7, 9]) {
      const x = be.tensor(1, n), h = be.tensor(1, Math.ceil(n / 2) + 4);
      be.upload(x, Float32Array.from(vals.slice(0, n)));
      ex.toF16!(addr(h), addr(x), n);
      const got = new Uint16Array((be as unknown as { heap: { u8: Uint8Array } }).heap.u8.slice(addr(h), addr(h) + 2 * n).buffer);
      const f = Float32Array.from(vals.slice(0, n));
      for (let i = 0; i < n; i++) expect(got[i], `toF16(${f[i]})`).toBe(f32ToF16(f[i]!));
    }
    be.dispose();
  });

  it('attention over an f16 cache = the f32 attention over keys and values rounded to f16 (prefill and split decode, GQA, window, soft-cap, ring buffer, tails)', async () => {
    const { f16ToF32, f32ToF16 } = await import('../../src/tensor/half.js');
    const round16 = (a: Float32Array) => a.map((x) => f16ToF32(f32ToF16(x)));
    for (const threads of [1, 3]) {
      const be = await wasmBackend({ threads, kvCache: 'f16' });
      const P = new Pair(be, new ReferenceBackend());
      for (const c of [
        { H: 4, G: 1, D: 256, keys: 150, rows: 1, window: null, softcap: null, cap: 160 },
        { H: 8, G: 4, D: 36, keys: 300, rows: 1, window: 120, softcap: 30, cap: 200 }, // ring buffer
        { H: 3, G: 1, D: 18, keys: 40, rows: 9, window: null, softcap: 5, cap: 64 },   // prefill rows, head tail
        { H: 2, G: 2, D: 10, keys: 70, rows: 1, window: 1, softcap: null, cap: 80 },
      ]) {
        const kvDim = c.G * c.D;
        const caches = [P.be.createKvLayer(c.cap, kvDim), P.ref.createKvLayer(c.cap, kvDim)] as const;
        expect((caches[0] as unknown as { f16: boolean }).f16).toBe(true);
        const last = c.keys - c.rows;
        for (let pos = 0; pos < last; pos += c.cap) {
          const n = Math.min(c.cap, last - pos);
          const kd = randn(n * kvDim, pos + 1, 2), vd = randn(n * kvDim, pos + 2);
          const k = [P.be.tensor(n, kvDim), P.ref.tensor(n, kvDim)] as const, v = [P.be.tensor(n, kvDim), P.ref.tensor(n, kvDim)] as const;
          P.be.upload(k[0], kd); P.be.upload(v[0], vd); P.ref.upload(k[1], round16(kd)); P.ref.upload(v[1], round16(vd));
          P.be.kvStore(caches[0], k[0], v[0], pos); P.ref.kvStore(caches[1], k[1], v[1], pos);
        }
        const kd = randn(c.rows * kvDim, 7, 2), vd = randn(c.rows * kvDim, 8);
        const k = [P.be.tensor(c.rows, kvDim), P.ref.tensor(c.rows, kvDim)] as const, v = [P.be.tensor(c.rows, kvDim), P.ref.tensor(c.rows, kvDim)] as const;
        P.be.upload(k[0], kd); P.be.upload(v[0], vd); P.ref.upload(k[1], round16(kd)); P.ref.upload(v[1], round16(vd));
        P.be.kvStore(caches[0], k[0], v[0], last); P.ref.kvStore(caches[1], k[1], v[1], last);
        const q = P.tensor(c.rows, c.H * c.D, randn(c.rows * c.H * c.D, 9, 2)), out = P.tensor(c.rows, c.H * c.D);
        const p = { numHeads: c.H, numKvHeads: c.G, headDim: c.D, scale: 0.15, softcap: c.softcap, window: c.window, startPos: last };
        P.be.attention(out[0], q[0], caches[0], p); P.ref.attention(out[1], q[1], caches[1], p);
        expect(await P.compare(out), JSON.stringify({ threads, ...c })).toBeLessThan(2e-6);
      }
      be.dispose();
    }
  });

  it('kvCache option: f16 layers take half the bytes; an unknown type is a typed error', async () => {
    const a = await wasmBackend({ threads: 1 }), b = await wasmBackend({ threads: 1, kvCache: 'f16' });
    const kvBytes = (be: unknown) => (be as { heap: { inUse: { kv: number } } }).heap.inUse.kv;
    expect((a.createKvLayer(100, 256) as unknown as { f16: boolean }).f16).toBe(false);
    expect((b.createKvLayer(100, 256) as unknown as { f16: boolean }).f16).toBe(true);
    expect(kvBytes(a)).toBeGreaterThanOrEqual(2 * 100 * 256 * 4);
    expect(kvBytes(b)).toBe(kvBytes(a) / 2);
    let err: unknown;
    try { b.setKvCache('bf16' as never); } catch (e) { err = e; }
    expect(isGemmaError(err) && err.code === 'BAD_ARGUMENT').toBe(true);
    a.dispose(); b.dispose();
  });

  it('attention: head size with a tail, window 1, long ring buffer, soft-cap', async () => {
    const P = new Pair(await wasmBackend({ threads: 2 }), new ReferenceBackend());
    for (const c of [{ H: 3, G: 1, D: 18, window: 1, softcap: null, cap: 8 }, { H: 2, G: 2, D: 10, window: 30, softcap: 5, cap: 40 }]) {
      const kvDim = c.G * c.D;
      const caches = [P.be.createKvLayer(c.cap, kvDim), P.ref.createKvLayer(c.cap, kvDim)] as const;
      let pos = 0;
      for (const rows of [7, 1, 1, 33, 2, 1, 20, 1]) {
        if (rows > c.cap) continue;
        const k = P.tensor(rows, kvDim, randn(rows * kvDim, pos + 1, 2));
        const v = P.tensor(rows, kvDim, randn(rows * kvDim, pos + 2));
        const q = P.tensor(rows, c.H * c.D, randn(rows * c.H * c.D, pos + 3, 2));
        const out = P.tensor(rows, c.H * c.D);
        const p = { numHeads: c.H, numKvHeads: c.G, headDim: c.D, scale: 0.3, softcap: c.softcap, window: c.window, startPos: pos };
        P.be.kvStore(caches[0], k[0], v[0], pos); P.ref.kvStore(caches[1], k[1], v[1], pos);
        P.be.attention(out[0], q[0], caches[0], p); P.ref.attention(out[1], q[1], caches[1], p);
        expect(await P.compare(out), JSON.stringify({ ...c, pos, rows })).toBeLessThan(2e-6);
        pos += rows;
      }
    }
  });
});

describe('wasm builds and memory', () => {
  it('relaxed SIMD build is chosen on this engine and agrees with the SIMD128 build', async () => {
    const rel = await wasmBackend({ relaxed: 'auto' });
    const simd = await wasmBackend({ relaxed: false });
    expect(simd.info.relaxed).toBe(false);
    // Node 20 needs --experimental-wasm-relaxed-simd; the loader sets it at run time
    expect(rel.info.relaxed, rel.info.notes.join('; ')).toBe(true);
    const P = new Pair(rel, simd);
    for (const dtype of [...QUANT, 'f16', 'f32'] as DType[]) {
      const bs = getCodec(dtype).blockSize, k = bs === 256 ? 512 : bs === 32 ? 96 : 40;
      const w = P.weight(randomWeight(dtype, 11, k, 3));
      // 1 row (decode kernels), 3 and 9 rows (prefill: the relaxed build's unpacked-tile kernels
      // take four rows at a time, then single rows; the SIMD128 build has its own paths)
      for (const rows of [1, 3, 9]) {
        const x = P.tensor(rows, k, randn(rows * k, 5 + rows));
        const out = P.tensor(rows, 11);
        P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
        // same integer sums; only fused multiply-adds may round differently
        expect(await P.compare(out), `${dtype} rows=${rows}`).toBeLessThan(1e-6);
      }
    }
  });

  it('unshared memory (no SharedArrayBuffer) runs single-threaded with the same results', async () => {
    const a = await wasmBackend({ shared: false, threads: 4 });
    expect(a.info.threads).toBe(1);
    expect(a.info.shared).toBe(false);
    expect(a.info.notes.join(' ')).toMatch(/single-threaded/);
    const P = new Pair(a, await wasmBackend({ shared: true }));
    const w = P.weight(randomWeight('q4_0', 9, 64, 1));
    const x = P.tensor(2, 64, randn(128, 2));
    const out = P.tensor(2, 9);
    P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
    expect(await P.compare(out)).toBe(0);
  });

  it('the relaxed self-test fails a build whose dot products are wrong', async () => {
    const { relaxedSelfTest } = await import('../../src/kernels/wasm/loader.js');
    // a module importing a shared memory and exporting selfTestDot(...) = 0 and, with
    // `q8`, selfTestDotQ8(...) = 0 too (the same function): both must fail on their values
    const enc = (t: string) => [...new TextEncoder().encode(t)];
    const module = (q8: boolean) => {
      const exps = [[0x0b, ...enc('selfTestDot'), 0x00, 0x00], ...(q8 ? [[0x0d, ...enc('selfTestDotQ8'), 0x00, 0x00]] : [])];
      const body = [exps.length, ...exps.flat()];
      return Uint8Array.from([
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        0x01, 0x09, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f,               // type (i32 x4) -> i32
        0x02, 0x12, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x03, 0x01, 0x80, 0x80, 0x04, // env.memory shared 1..65536
        0x03, 0x02, 0x01, 0x00,                                                         // one function of type 0
        0x07, body.length, ...body,                                                     // exports
        0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x00, 0x0b,                                 // body: i32.const 0
      ]);
    };
    expect(await relaxedSelfTest(await WebAssembly.compile(module(false)), true)).toBe(false);
    expect(await relaxedSelfTest(await WebAssembly.compile(module(true)), true)).toBe(false);
    // and the real relaxed build passes it (selfTestDotQ8 included)
    const { loadKernels } = await import('../../src/kernels/wasm/loader.js');
    const build = await loadKernels('auto', true);
    expect(build.relaxed, build.note).toBe(true);
    expect(await relaxedSelfTest(build.module, true)).toBe(true);
    expect(WebAssembly.Module.exports(build.module).map((e) => e.name)).toContain('selfTestDotQ8');
  });

  it('dot-add build: bit for bit the relaxed build where the engine runs it right, a typed error where not', async () => {
    const rel = await wasmBackend({ dotAdd: false }); // first: on Node 20 it turns relaxed SIMD on
    expect(rel.info.dotAdd).toBe(false);
    // the dot-add build is a relaxed build: not without relaxed SIMD
    let noRelaxed: unknown;
    try { await wasmBackend({ relaxed: false, dotAdd: true }); } catch (e) { noRelaxed = e; }
    expect(isGemmaError(noRelaxed, 'BACKEND') && String((noRelaxed as Error).message)).toMatch(/dot-add build needs relaxed SIMD/);
    expect((await wasmBackend({ relaxed: false })).info).toMatchObject({ relaxed: false, dotAdd: false });
    const { fromBase64, relaxedSelfTest } = await import('../../src/kernels/wasm/loader.js');
    const { DOTADD_WASM_BASE64 } = await import('../../src/kernels/wasm/generated/kernels.js');
    const dotModule = await WebAssembly.compile(fromBase64(DOTADD_WASM_BASE64));
    const selfTestOk = await relaxedSelfTest(dotModule, true);
    // The dot-add build's Q8_0 levels are u8, outside the i7 range: it passes only where the
    // engine reads them unsigned without saturating, as V8 13.6+ does when it lowers dot-add to
    // vpdpbusd (AVX-VNNI). There a failing self-test is our bug; V8 12 (Node 22) goes through
    // pmaddubsw and saturates (checked: the plain build is then used), V8 11 (Node 20) computes
    // dot-add wrong in its baseline compiler.
    const [v8Major, v8Minor] = process.versions.v8.split('.').map(Number) as [number, number];
    let vnni = false;
    try { vnni = /\bavx_vnni\b/.test(readFileSync('/proc/cpuinfo', 'utf8')); } catch { /* not Linux: no claim */ }
    if (vnni && (v8Major > 13 || (v8Major === 13 && v8Minor >= 6))) expect(selfTestOk).toBe(true);
    if (!selfTestOk) {
      // asking for the build must say why it is not used, and 'auto' must have kept the plain one
      let err: unknown;
      try { await wasmBackend({ dotAdd: true }); } catch (e) { err = e; }
      expect(isGemmaError(err, 'BACKEND')).toBe(true);
      expect(String((err as Error).message)).toMatch(/dot-add build was requested but it failed its start-up self-test/);
      expect((await wasmBackend({ dotAdd: 'auto' })).info.dotAdd).toBe(false);
      return;
    }
    const dot = await wasmBackend({ dotAdd: true });
    expect(dot.info.dotAdd && dot.info.relaxed).toBe(true);
    expect(dot.info.dotAddSpeedup).toBeGreaterThan(0);
    const P = new Pair(dot, rel);
    for (const dtype of QUANT) {
      const bs = getCodec(dtype).blockSize, k = bs === 256 ? 512 : 160;
      const w = P.weight(randomWeight(dtype, 13, k, 9));
      // decode (the Q8_0 dot), and 4-row tiles + leftover rows (the Q4_0/Q4_1/Q5_0 prefill)
      for (const rows of [1, 2, 9]) {
        const x = P.tensor(rows, k, randn(rows * k, 11 + rows, 2));
        const out = P.tensor(rows, 13);
        P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
        // the same integer sums, then the same float epilogue
        expect(await P.compare(out), `${dtype} rows=${rows}`).toBe(0);
      }
    }
    // the dot-add build stores Q8_0 levels + 128: the embedding lookup reads them back exactly
    const table = randomWeight('q8_0', 9, 64, 5);
    const tw = P.weight(table);
    const ids = Int32Array.from([0, 8, 3, 5]);
    const e = P.tensor(4, 64, new Float32Array(4 * 64));
    P.be.embed(e[0], tw[0], ids, 1.5); P.ref.embed(e[1], tw[1], ids, 1.5);
    expect(await P.compare(e)).toBe(0);
    const emb = await P.be.download(e[0]), vals = new Float32Array(64);
    getCodec('q8_0').dequantizeRow(table.data, 8 * 34 * 2, vals, 0, 64);
    expect(Array.from(emb.subarray(64, 128))).toEqual(Array.from(vals, (v) => Math.fround(v * 1.5)));
  });

  it('the dot-add speed probe times both builds and rejects one that computes a different product', async () => {
    expect((await wasmBackend()).info.relaxed).toBe(true); // first: on Node 20 it turns relaxed SIMD on
    const { fromBase64, probeDotSpeed } = await import('../../src/kernels/wasm/loader.js');
    const { RELAXED_WASM_BASE64 } = await import('../../src/kernels/wasm/generated/kernels.js');
    const relaxed = await WebAssembly.compile(fromBase64(RELAXED_WASM_BASE64));
    const t = await probeDotSpeed([relaxed, relaxed], true, 2, 20);
    expect(t).toHaveLength(2);
    for (const s of t) expect(s).toBeGreaterThan(0);
    // a module whose mmQ8_0 writes nothing: its output (zeros) differs from the real kernel's
    const enc = (s: string) => [...new TextEncoder().encode(s)];
    const exps = [[0x06, ...enc('mmQ8_0'), 0x00, 0x00], [0x08, ...enc('quantQ8A'), 0x00, 0x01], [0x0b, ...enc('q8aRowBytes'), 0x00, 0x02]];
    const body = [exps.length, ...exps.flat()];
    const fake = await WebAssembly.compile(Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x1c, 0x03,
      0x60, 0x0a, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, // (i32 x10) -> ()
      0x60, 0x06, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00,                         // (i32 x6) -> ()
      0x60, 0x01, 0x7f, 0x01, 0x7f,                                                 // (i32) -> i32
      0x02, 0x12, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x03, 0x01, 0x80, 0x80, 0x04, // env.memory shared
      0x03, 0x04, 0x03, 0x00, 0x01, 0x02,
      0x07, body.length, ...body,
      0x0a, 0x0d, 0x03, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b, 0x05, 0x00, 0x41, 0x80, 0x02, 0x0b, // bodies: nop, nop, i32.const 256
    ]));
    await expect(probeDotSpeed([relaxed, fake], true, 1, 2)).rejects.toThrow(/different Q8_0 product/);
  });

  it('past 4 GiB: a clear error, and the backend keeps working', async () => {
    const be = await wasmBackend();
    let err: unknown;
    try { be.createKvLayer(1 << 20, 1024); } catch (e) { err = e; }
    expect(isGemmaError(err, 'BACKEND')).toBe(true);
    expect(String((err as Error).message)).toMatch(/4 GiB/);
    const t = be.tensor(2, 3);
    be.upload(t, Float32Array.from([1, 2, 3, 4, 5, 6]));
    expect(Array.from(await be.download(t))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects weights it has no kernel for, and bad byte counts', async () => {
    const be = await wasmBackend();
    const w = randomWeight('q8_k', 4, 256, 1);
    expect(() => be.uploadWeight(w)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_DTYPE' }));
    expect(() => be.uploadWeight({ ...randomWeight('q8_0', 4, 64, 1), shape: [4, 96] })).toThrow(expect.objectContaining({ code: 'BAD_TENSOR' }));
  });
});

describe('wasm page touching before a weight is repacked (OP_TOUCH)', () => {
  it('stores a zero byte every 4096 bytes of the range, on all threads, and nothing else', async () => {
    const be = await wasmBackend({ threads: 3 });
    const heap = (be as unknown as { heap: { alloc(n: number, k: string, w: string): number; release(p: number): void; u8: Uint8Array } }).heap;
    const touch = (be as unknown as { touch(ptr: number, bytes: number): void }).touch.bind(be);
    const bytes = 5 * 1024 * 1024 + 123, pad = 8192;
    const buf = heap.alloc(bytes + 2 * pad, 'scratch', 'touch test');
    const ptr = buf + pad + 40; // not page-aligned
    heap.u8.fill(0xab, buf, buf + bytes + 2 * pad);
    touch(ptr, bytes);
    const u8 = heap.u8;
    let touched = 0, wrong = 0;
    for (let i = buf; i < buf + bytes + 2 * pad; i++) {
      const inRange = i >= ptr && i < ptr + bytes && (i - ptr) % 4096 === 0;
      if (inRange) touched++;
      if (u8[i] !== (inRange ? 0 : 0xab)) wrong++;
    }
    expect(touched).toBe(Math.ceil(bytes / 4096));
    expect(wrong).toBe(0);
    heap.release(buf);
  });

  it('a weight uploaded into touched memory computes the same bits as one that was not', async () => {
    // 2 threads: weights of 1 MiB and more are touched before the repacking; 1 thread: never
    const P = new Pair(await wasmBackend({ threads: 2 }), await wasmBackend({ threads: 1 }));
    for (const dtype of ['q8_0', 'f16'] as DType[]) {
      const w = P.weight(randomWeight(dtype, 1024, 1024, 3));
      const x = P.tensor(1, 1024, randn(1024, 4));
      const out = P.tensor(1, 1024);
      P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
      expect(await P.compare(out), dtype).toBe(0);
    }
  });
});

describe('wasm prefill scratch: the host gives each kernel what it uses', () => {
  it.each([['the engine\'s build', {}], ['SIMD128 build', { relaxed: false as const }]])('every format writes within jobs.ts prefillScratchBytes (canary after it), in one tile and over several: %s', async (_, opts) => {
    // whole matrices: the kernel is called directly here (the backend's column panels are
    // covered below)
    const be = await wasmBackend({ threads: 1, columnPanels: false, ...opts });
    const { prefillScratchBytes } = await import('../../src/kernels/wasm/jobs.js');
    const { layoutOf } = await import('../../src/kernels/wasm/layout.js');
    type Ex = Record<string, (...a: number[]) => number>;
    const ex = (be as unknown as { ex: Ex }).ex;
    const addr = (t: unknown) => (t as { ptr: number }).ptr;
    const u8 = () => (be as unknown as { heap: { u8: Uint8Array } }).heap.u8;
    for (const dtype of ['f32', 'f16', 'bf16', ...QUANT] as DType[]) {
      const B = dtype.endsWith('_k') ? 256 : 32;
      for (const [rows, k] of [[5, 2 * B], [8, 2 * B], [9, 4096], [72, 4096], [70, 4096]] as const) {
        const m = 9;
        const l = layoutOf(dtype);
        const w = be.uploadWeight(randomWeight(dtype, m, k, rows + k));
        const x = be.tensor(rows, k);
        be.upload(x, randn(rows * k, rows));
        const stride = l.act === 'f32' ? 0 : Math.ceil((l.act === 'q8k' ? ex.q8kRowBytes!(k) : ex.q8aRowBytes!(k)) / 16) * 16;
        const xq = be.tensor(rows, Math.max(1, stride / 4));
        if (l.act === 'q8a') ex.quantQ8A!(addr(x), k, addr(xq), stride, 0, rows);
        if (l.act === 'q8k') ex.quantQ8K!(addr(x), k, addr(xq), stride, 0, rows);
        // 0 for a format without a widened prefill: then the kernel must not touch the scratch at all
        const need = prefillScratchBytes(dtype, k, rows, stride);
        const scratch = be.tensor(1, Math.ceil(need / 4) + 256);
        const s0 = addr(scratch);
        u8().fill(0xa5, s0 + need, s0 + need + 1024);
        const out = be.tensor(rows, m);
        ex.matmulOne!(l.kind, addr(w), l.act === 'f32' ? addr(x) : addr(xq), stride, addr(out), m, k, rows, 0, Math.ceil(m / 4), s0);
        const canary = u8().subarray(s0 + need, s0 + need + 1024);
        expect(canary.every((b) => b === 0xa5), `${dtype} rows=${rows} k=${k}: scratch written past ${need} bytes`).toBe(true);
        // and the same outputs as the backend's own matmul
        const ref = be.tensor(rows, m);
        be.matmul(ref, x, w);
        expect(Array.from(await be.download(out)), `${dtype} rows=${rows} k=${k}`).toEqual(Array.from(await be.download(ref)));
        for (const t of [x, xq, scratch, out, ref]) be.freeTensor(t);
        be.freeWeight(w);
      }
    }
  });
});
