/**
 * Backend conformance: run every op of a backend on random shapes and compare with the
 * reference backend (the oracle). Each backend's test file calls `describeBackendConformance`.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor, Weight } from '../../src/kernels/backend.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { getCodec } from '../../src/quant/index.js';
import type { DType } from '../../src/tensor/dtype.js';
import { fillNormal, mulberry32 } from '../../src/util/rng.js';

export interface ConformanceOptions {
  /** weight dtypes to test matmul/embed with */
  dtypes: DType[];
  /** relative tolerance (max |a-b| / max(1, max |ref|)) for float ops */
  tol?: number;
  /** tolerance for matmul per dtype (backends may quantize activations like llama.cpp) */
  matmulTol?: Partial<Record<DType, number>>;
  /** keep shapes small on slow (CPU-emulated GPU) drivers */
  small?: boolean;
}

export function randn(n: number, seed: number, std = 1): Float32Array {
  return fillNormal(new Float32Array(n), mulberry32(seed), std);
}

/** random weight bytes of a dtype: normal values quantized by the reference codec */
export function randomWeight(dtype: DType, rows: number, cols: number, seed: number, std = 0.5): { name: string; dtype: DType; shape: number[]; data: Uint8Array } {
  const c = getCodec(dtype);
  const rowBytes = (cols / c.blockSize) * c.blockBytes;
  const data = new Uint8Array(rows * rowBytes);
  const v = randn(rows * cols, seed, std);
  for (let r = 0; r < rows; r++) c.quantizeRow(v, r * cols, cols, data, r * rowBytes);
  return { name: `w_${dtype}_${rows}x${cols}`, dtype, shape: cols === rows && rows === 1 ? [cols] : [rows, cols], data };
}

export function maxRelErr(a: Float32Array, b: Float32Array): number {
  let m = 0, s = 1;
  for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m / s;
}

/** Run the same op on both backends from the same host data; return both outputs. */
export class Pair {
  constructor(readonly be: Backend, readonly ref: Backend) {}
  tensor(rows: number, cols: number, data?: Float32Array): [Tensor, Tensor] {
    const a = this.be.tensor(rows, cols), b = this.ref.tensor(rows, cols);
    if (data) { this.be.upload(a, data); this.ref.upload(b, data); }
    return [a, b];
  }
  weight(w: ReturnType<typeof randomWeight>): [Weight, Weight] {
    return [this.be.uploadWeight({ ...w, data: w.data.slice() }), this.ref.uploadWeight(w)];
  }
  async compare([a, b]: [Tensor, Tensor]): Promise<number> {
    return maxRelErr(await this.be.download(a), await this.ref.download(b));
  }
}

export function describeBackendConformance(name: string, make: () => Promise<Backend>, o: ConformanceOptions): void {
  const tol = o.tol ?? 1e-5;
  const shapes = o.small ? [[1, 32, 16], [3, 64, 40], [5, 256, 33]] : [[1, 64, 32], [7, 256, 129], [16, 512, 300], [1, 1024, 777]];
  describe(`${name} backend conformance`, () => {
    const ref = new ReferenceBackend();
    const get = async () => new Pair(await make(), ref);

    for (const dtype of o.dtypes) {
      it(`matmul ${dtype} on random shapes`, async () => {
        const P = await get();
        const bs = getCodec(dtype).blockSize;
        for (const [rows, k0, m] of shapes) {
          const k = Math.ceil(k0! / bs) * bs;
          const w = P.weight(randomWeight(dtype, m!, k, 11 + m!));
          const x = P.tensor(rows!, k, randn(rows! * k, 7 + rows!));
          const out = P.tensor(rows!, m!);
          P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
          expect(await P.compare(out), `${dtype} [${rows}x${k}] x [${m}x${k}]^T`).toBeLessThan(o.matmulTol?.[dtype] ?? tol);
        }
      });
      it(`embed ${dtype}`, async () => {
        const P = await get();
        const bs = getCodec(dtype).blockSize;
        const d = Math.max(bs, 64);
        const w = P.weight(randomWeight(dtype, 50, d, 3));
        const toks = Int32Array.from([0, 49, 7, 7, 23]);
        const out = P.tensor(toks.length, d);
        P.be.embed(out[0], w[0], toks, 8); P.ref.embed(out[1], w[1], toks, 8);
        expect(await P.compare(out)).toBeLessThan(tol);
      });
    }

    it('rmsNorm (whole rows and per-head chunks, in place)', async () => {
      const P = await get();
      // long rows (> 1024: wider workgroups on WebGPU) with lengths that are not multiples of 4
      for (const [rows, cols, n] of [[3, 64, 64], [2, 128, 32], [5, 96, 96], [2, 1030, 1030], [1, 2052, 1026], [2, 90, 45]]) {
        const w = P.weight({ name: 'norm', dtype: 'f32', shape: [n!], data: new Uint8Array(randn(n!, 5, 0.3).map((v) => 1 + v).buffer) });
        const x = P.tensor(rows!, cols!, randn(rows! * cols!, 9, 2));
        const out = P.tensor(rows!, cols!);
        P.be.rmsNorm(out[0], x[0], w[0], 1e-6); P.ref.rmsNorm(out[1], x[1], w[1], 1e-6);
        expect(await P.compare(out), `[${rows}, ${cols}] / ${n}`).toBeLessThan(tol);
        P.be.rmsNorm(x[0], x[0], w[0], 1e-6); P.ref.rmsNorm(x[1], x[1], w[1], 1e-6);
        expect(await P.compare(x), `in place [${rows}, ${cols}] / ${n}`).toBeLessThan(tol);
      }
    });

    it('rope (local/global bases, scaling, offsets)', async () => {
      const P = await get();
      for (const [rows, heads, D, start, theta, scaling] of [[4, 2, 16, 0, 10000, 1], [3, 4, 32, 17, 1e6, 8], [1, 1, 64, 1000, 10000, 1]]) {
        const x = P.tensor(rows!, heads! * D!, randn(rows! * heads! * D!, 21));
        const p = { headDim: D!, startPos: start!, theta: theta!, scaling: scaling! };
        P.be.rope(x[0], p); P.ref.rope(x[1], p);
        expect(await P.compare(x)).toBeLessThan(tol * 10);
      }
    });

    it('attention: GQA/MQA, sliding window, soft-cap, ring buffer, multi-step', async () => {
      const P = await get();
      const cases = [
        { H: 4, G: 1, D: 16, window: null, softcap: null, cap: 64 },
        { H: 4, G: 2, D: 32, window: 5, softcap: 50, cap: 64 },
        { H: 8, G: 8, D: 16, window: 8, softcap: null, cap: 12 }, // ring buffer: capacity < positions
      ];
      for (const c of cases) {
        const kvDim = c.G * c.D;
        const caches = [P.be.createKvLayer(c.cap, kvDim), P.ref.createKvLayer(c.cap, kvDim)] as const;
        let pos = 0;
        for (const rows of [4, 1, 1, 3, 1]) {
          const k = P.tensor(rows, kvDim, randn(rows * kvDim, 100 + pos));
          const v = P.tensor(rows, kvDim, randn(rows * kvDim, 200 + pos));
          const q = P.tensor(rows, c.H * c.D, randn(rows * c.H * c.D, 300 + pos));
          const out = P.tensor(rows, c.H * c.D);
          const p = { numHeads: c.H, numKvHeads: c.G, headDim: c.D, scale: 1 / Math.sqrt(c.D), softcap: c.softcap, window: c.window, startPos: pos };
          P.be.kvStore(caches[0], k[0], v[0], pos); P.ref.kvStore(caches[1], k[1], v[1], pos);
          P.be.attention(out[0], q[0], caches[0], p); P.ref.attention(out[1], q[1], caches[1], p);
          expect(await P.compare(out), JSON.stringify({ ...c, pos, rows })).toBeLessThan(tol * 10);
          pos += rows;
        }
      }
    });

    it('geglu, add, softcap, copyRows, argmax', async () => {
      const P = await get();
      const g = P.tensor(3, 100, randn(300, 1, 3)), u = P.tensor(3, 100, randn(300, 2));
      P.be.geglu(g[0], g[0], u[0]); P.ref.geglu(g[1], g[1], u[1]);
      expect(await P.compare(g)).toBeLessThan(tol);
      const a = P.tensor(2, 50, randn(100, 3)), b = P.tensor(2, 50, randn(100, 4));
      P.be.add(a[0], a[0], b[0]); P.ref.add(a[1], a[1], b[1]);
      expect(await P.compare(a)).toBeLessThan(tol);
      const s = P.tensor(2, 70, randn(140, 5, 40));
      P.be.softcap(s[0], 30); P.ref.softcap(s[1], 30);
      expect(await P.compare(s)).toBeLessThan(tol);
      const big = P.tensor(6, 33, randn(198, 6)), part = P.tensor(2, 33);
      P.be.copyRows(part[0], big[0], 3); P.ref.copyRows(part[1], big[1], 3);
      expect(await P.compare(part)).toBe(0);
      expect(Array.from(await P.be.argmax(big[0]))).toEqual(Array.from(await P.ref.argmax(big[1])));
    });
  });
}
