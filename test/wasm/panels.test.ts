// Column panels of the wasm backend (src/kernels/wasm/layout.ts panelsOf): Q8_0 and float
// matrices of more than 2048 columns are stored as row blocks of column panels and multiplied
// panel by panel. Checked here:
// - which shapes get panels (Gemma's long rows do, short rows and other formats do not), and
//   the padded byte count;
// - products of panelled weights against independent arithmetic (the exact activation model
//   of act-model.ts for Q8_0, the reference backend for floats) to f32 rounding, and against the
//   same weights stored whole, for decode (1 row) and prefill (several, leftover rows
//   included), odd row counts (a partial group, a padded row block), 1 and 3 threads;
// - a GeGLU pair and several matmuls on one input with panels (one job) equal the separate ops
//   bit for bit;
// - embedding rows read back from a panelled table equal those of a whole one.
import { describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import type { WasmBackend, WasmWeight } from '../../src/kernels/wasm/backend.js';
import { OP_MATMUL } from '../../src/kernels/wasm/jobs.js';
import { PANEL_BLOCK_GROUPS, layoutOf, packedBytes, panelsOf } from '../../src/kernels/wasm/layout.js';
import type { DType } from '../../src/tensor/dtype.js';
import { rowBytes } from '../../src/tensor/dtype.js';
import { maxRelErr, randn, randomWeight } from '../helpers/backend-conformance.js';
import { modelMatmul } from './act-model.js';
import { wasmBackend } from './helpers.js';

type W = ReturnType<typeof randomWeight>;

function upload(be: WasmBackend, w: W, panels: boolean): WasmWeight {
  be.setColumnPanels(panels);
  try {
    return be.uploadWeight({ ...w, data: w.data.slice() }) as WasmWeight;
  } finally {
    be.setColumnPanels(true);
  }
}

async function product(be: WasmBackend, w: WasmWeight, x: Float32Array, T: number): Promise<Float32Array> {
  const k = w.shape[1]!, m = w.shape[0]!;
  const xt = be.tensor(T, k), out = be.tensor(T, m);
  be.upload(xt, x);
  be.matmul(out, xt, w);
  const r = await be.download(out);
  be.freeTensor(xt); be.freeTensor(out);
  return r;
}

/** x W^T from independent arithmetic: the activation model for Q8_0, the reference backend for floats */
async function expected(w: W, x: Float32Array, T: number): Promise<Float32Array> {
  const [m, k] = w.shape as [number, number];
  if (w.dtype === 'q8_0') return modelMatmul(w.dtype, w.data, m, k, x, T);
  const ref = new ReferenceBackend();
  const rw = ref.uploadWeight(w), rx = ref.tensor(T, k), ro = ref.tensor(T, m);
  ref.upload(rx, x);
  ref.matmul(ro, rx, rw);
  return ref.download(ro);
}

describe('wasm column panels: which matrices', () => {
  it('Gemma long rows (> 4096 columns) of Q8_0 and float weights get panels of at most 2048 columns; shorter rows and other formats none', () => {
    const cases: [DType, number, number][] = [
      ['q8_0', 1152, 1], ['q8_0', 2048, 1], ['q8_0', 2304, 1], ['q8_0', 2560, 1], ['q8_0', 4096, 1], ['q8_0', 4608, 3],
      ['q8_0', 6912, 4], ['q8_0', 9216, 6], ['q8_0', 10240, 5], ['q8_0', 16384, 8], ['q8_0', 14336, 7],
      ['f16', 6912, 4], ['f32', 2304, 1], ['f32', 4608, 3], ['bf16', 9216, 6], ['f16', 1152, 1],
      // no split into equal whole-unit panels of >= 1024 columns: whole rows
      ['q8_0', 167 * 32, 1], ['f32', 4100, 1],
      // formats whose activation row stays in L1 anyway (layout.ts PANEL_MAX_K)
      ['q4_0', 6912, 1], ['q5_0', 6912, 1], ['q4_k', 6912, 1], ['q6_k', 6912, 1],
    ];
    for (const [dtype, k, n] of cases) {
      const l = layoutOf(dtype);
      const p = panelsOf(l, k);
      expect(p, `${dtype} k=${k}`).toBe(n);
      if (p > 1) {
        expect((k / p) % (l.act === 'f32' ? 8 : l.unitElems)).toBe(0);
        expect(k / p).toBeLessThanOrEqual(2048);
      }
    }
  });

  it('a panelled matrix takes its bytes plus the padding of its last row block', () => {
    const l = layoutOf('q8_0');
    const k = 6912, rb = rowBytes('q8_0', k);
    expect(packedBytes(l, 1152, k, 4)).toBe(1152 * rb); // 288 groups: whole blocks of 8
    expect(packedBytes(l, 37, k, 4)).toBe(2 * 4 * PANEL_BLOCK_GROUPS * rb); // 10 groups -> 2 blocks of 8
    expect(packedBytes(l, 37, k, 1)).toBe(40 * rb);
  });
});

describe('wasm column panels: products', () => {
  for (const threads of [1, 3]) {
    it(`Q8_0 / F16 / F32 / BF16, decode and prefill, odd row counts: independent arithmetic and whole rows agree, ${threads} thread(s)`, async () => {
      const be = await wasmBackend({ threads });
      for (const dtype of ['q8_0', 'f16', 'f32', 'bf16'] as DType[]) {
        for (const [m, k, T] of [[37, 4608, 1], [300, 6912, 1], [37, 6912, 3], [300, 4608, 9], [131, 6912, 6]] as const) {
          const w = randomWeight(dtype, m, k, m + k + T);
          const x = randn(T * k, 7 * T + k, 1.5);
          const wp = upload(be, w, true), ww = upload(be, w, false);
          expect(wp.panels, `${dtype} k=${k}`).toBe(panelsOf(layoutOf(dtype), k));
          expect(wp.panels).toBeGreaterThan(1);
          expect(ww.panels).toBe(1);
          const tag = `${dtype} [${m} x ${k}] T=${T} threads=${threads}`;
          const p = await product(be, wp, x, T), whole = await product(be, ww, x, T);
          // independent arithmetic: f32 rounding of sums over k terms (f64 in the model)
          expect(maxRelErr(p, await expected(w, x, T)), tag).toBeLessThan(2e-5);
          // the same sums in another order than the whole rows: close, and not the same
          // computation by accident (that would mean the panels were ignored)
          expect(maxRelErr(p, whole), tag).toBeLessThan(2e-5);
          be.freeWeight(wp); be.freeWeight(ww);
        }
      }
      be.dispose();
    });
  }

  it('the products bound tells panel orders apart: two panels swapped differ by far more than 2e-5', async () => {
    // guards the test above (its bound would let a panel mix-up through if it were this loose);
    // the engine's own mistakes are caught there (dropping the activation panel offset fails it)
    const be = await wasmBackend({ threads: 1 });
    const m = 37, k = 6912, w = randomWeight('q8_0', m, k, 5), x = randn(k, 6, 1.5);
    const ok = await product(be, upload(be, w, true), x, 1);
    const swapped = x.slice();
    swapped.set(x.subarray(0, 1728), 1728); swapped.set(x.subarray(1728, 3456), 0);
    const exp = await expected(w, x, 1);
    expect(maxRelErr(ok, exp)).toBeLessThan(2e-5);
    expect(maxRelErr(await expected(w, swapped, 1), exp)).toBeGreaterThan(1e-2);
    be.dispose();
  });

  for (const threads of [1, 3]) {
    it(`a GeGLU pair and q/k/v-style matmuls on one input with panels equal the separate ops bit for bit, ${threads} thread(s)`, async () => {
      const be = await wasmBackend({ threads });
      for (const dtype of ['q8_0', 'f16'] as DType[]) {
        for (const T of [1, 5]) {
          const m = 131, k = 4608;
          const [wg, wu, wo] = [1, 2, 3].map((s) => upload(be, randomWeight(dtype, m, k, 40 + s), true));
          expect(wg!.panels).toBe(3);
          const x = be.tensor(T, k);
          be.upload(x, randn(T * k, 9 + T));
          const [a, up, b, c, d, e] = [0, 1, 2, 3, 4, 5].map(() => be.tensor(T, m));
          be.matmul(b!, x, wo!);
          be.matmulGeglu(a!, x, wg!, wu!, up!);
          const fused = await be.download(a!), other = await be.download(b!);
          be.matmul(c!, x, wg!); be.matmul(d!, x, wu!); be.geglu(c!, c!, d!);
          be.matmul(e!, x, wo!);
          const tag = `${dtype} T=${T} threads=${threads}`;
          expect(Array.from(fused), tag).toEqual(Array.from(await be.download(c!)));
          expect(Array.from(await be.download(up!)), tag).toEqual(Array.from(await be.download(d!)));
          expect(Array.from(other), tag).toEqual(Array.from(await be.download(e!)));
          for (const t of [x, a, up, b, c, d, e]) be.freeTensor(t!);
          for (const w of [wg, wu, wo]) be.freeWeight(w!);
        }
      }
      be.dispose();
    });
  }
});

describe('wasm column panels: embedding rows', () => {
  it('rows of a panelled table read back like those of a whole one (and like the codec)', async () => {
    const be = await wasmBackend({ threads: 1 });
    for (const dtype of ['q8_0', 'f16', 'bf16', 'f32'] as DType[]) {
      const rows = 45, k = 4608; // 12 groups: a full row block and a padded one
      const w = randomWeight(dtype, rows, k, 77);
      const wp = upload(be, w, true), ww = upload(be, w, false);
      expect(wp.panels).toBe(3);
      const ids = Int32Array.from([0, 1, 3, 4, 31, 32, 33, 44]);
      const a = be.tensor(ids.length, k), b = be.tensor(ids.length, k);
      be.embed(a, wp, ids, 1.5); be.embed(b, ww, ids, 1.5);
      const got = await be.download(a);
      expect(Array.from(got), dtype).toEqual(Array.from(await be.download(b)));
      // and the table's own values: the reference backend's embedding of the same bytes
      const ref = new ReferenceBackend(), rt = ref.tensor(ids.length, k);
      ref.embed(rt, ref.uploadWeight(w), ids, 1.5);
      expect(maxRelErr(got, await ref.download(rt)), dtype).toBeLessThan(1e-6);
      be.freeTensor(a); be.freeTensor(b); be.freeWeight(wp); be.freeWeight(ww);
    }
    be.dispose();
  });
});

describe('wasm column panels: partial sums of many rows', () => {
  it('rows go in slices when the partial sums would pass the cap, with the same results', async () => {
    for (const threads of [1, 3]) {
      const be = await wasmBackend({ threads });
      const m = 300, k = 6912, T = 23;
      const w = upload(be, randomWeight('q8_0', m, k, 91), true);
      const x = randn(T * k, 92, 1.5);
      const whole = await product(be, w, x, T);
      // 3 panels' planes of 300 floats a row: a cap of 5 rows' worth -> slices of 5 rows
      const inner = be as unknown as { panelPartBytes: number; runJob(op: number, chunks: number, parallel: boolean): void };
      inner.panelPartBytes = 5 * 3 * m * 4;
      let jobs = 0;
      const runJob = inner.runJob.bind(be);
      inner.runJob = (op, chunks, parallel) => { if (op === OP_MATMUL) jobs++; runJob(op, chunks, parallel); };
      const sliced = await product(be, w, x, T);
      expect(jobs).toBe(Math.ceil(T / 5));
      expect(Array.from(sliced), `threads=${threads}`).toEqual(Array.from(whole));
      expect(maxRelErr(sliced, await expected(randomWeight('q8_0', m, k, 91), x, T))).toBeLessThan(2e-5);
      be.dispose();
    }
  });
});
