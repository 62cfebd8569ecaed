// The wasm backend's fused FFN/attention-input matmuls (Backend.matmulGeglu, matmulQkv):
// - the same as the separate ops on the same backend, bit for bit (each output row is the
//   same kernel call over the same quantized activation row, and the GeGLU the same
//   element-wise function), for every weight kind that matters, odd row counts, decode
//   (1..4 activation rows) and prefill (9 rows), 1 and 3 threads;
// - gelu_tanh(gate) * up from independent arithmetic (the exact activation model of
//   act-model.ts for quantized weights, the reference backend's matmuls for float ones) to
//   f32 rounding;
// - prefill: one pool round and no GeGLU pass; decode: gate and up in the round of the other
//   matmuls held on the same input, then the GeGLU (a pool round of its own when long);
//   mixed weight kinds fall back;
// - a whole tiny model gives the same logits with and without the fused methods.
import { describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { geluTanh } from '../../src/kernels/reference/ops.js';
import type { Backend } from '../../src/kernels/backend.js';
import type { WasmBackend } from '../../src/kernels/wasm/backend.js';
import { OP_MATMUL } from '../../src/kernels/wasm/jobs.js';
import { getCodec } from '../../src/quant/index.js';
import type { DType } from '../../src/tensor/dtype.js';
import { maxRelErr, randn, randomWeight } from '../helpers/backend-conformance.js';
import { modelMatmul } from './act-model.js';
import { wasmBackend } from './helpers.js';
import { TOKENS, loadTestModel } from './models.js';

const DTYPES: DType[] = ['q8_0', 'q4_0', 'q4_k', 'q6_k', 'f16', 'f32', 'bf16'];

/**
 * gelu_tanh(x Wg^T) * (x Wu^T) from independent arithmetic: quantized kinds by the exact
 * activation model (act-model.ts, f64 sums), float kinds by the reference backend's matmuls;
 * GeGLU in f64 with the reference's gelu_tanh
 */
async function expectedGeglu(ref: ReferenceBackend, wg: Weight, wu: Weight, x: Float32Array, T: number): Promise<Float32Array> {
  const m = wg.shape[0]!, k = wg.shape[1]!;
  const mm = async (w: Weight) => {
    if (w.dtype.startsWith('q')) return modelMatmul(w.dtype, w.data, m, k, x, T);
    const rw = ref.uploadWeight(w), rx = ref.tensor(T, k), ro = ref.tensor(T, m);
    ref.upload(rx, x);
    ref.matmul(ro, rx, rw);
    return ref.download(ro);
  };
  const g = await mm(wg), u = await mm(wu);
  return g.map((v, i) => geluTanh(v) * u[i]!);
}
type Weight = ReturnType<typeof randomWeight>;

/** a small deterministic generator for shapes */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32; };
}

function kFor(dtype: DType, rnd: () => number): number {
  const bs = getCodec(dtype).blockSize;
  if (bs === 1) return 1 + Math.floor(rnd() * 300); // float kinds: any k, tails included
  return bs * (1 + Math.floor(rnd() * (bs === 256 ? 3 : 12)));
}

/** count the pool/local jobs a backend runs, by op */
function countJobs(be: WasmBackend): Map<number, number> {
  const inner = be as unknown as { runJob(op: number, chunks: number, parallel: boolean): void };
  const runJob = inner.runJob.bind(be);
  const n = new Map<number, number>();
  inner.runJob = (op, chunks, parallel) => { n.set(op, (n.get(op) ?? 0) + 1); runJob(op, chunks, parallel); };
  return n;
}

/** hide the optional fused methods on this instance (forward.ts then uses the plain ops) */
function unfused(be: Backend): Backend {
  const o = be as unknown as Record<string, unknown>;
  o.matmulGeglu = undefined;
  o.matmulQkv = undefined;
  return be;
}

describe('wasm matmulGeglu = matmul + matmul + geglu', () => {
  for (const threads of [1, 3]) {
    it(`bit for bit on this backend and equal to independent arithmetic, random shapes, ${threads} thread(s)`, async () => {
      const be = await wasmBackend({ threads });
      const ref = new ReferenceBackend();
      const rnd = lcg(17 + threads);
      for (const dtype of DTYPES) {
        for (const T of [1, 2, 3, 4, 9]) {
          const k = kFor(dtype, rnd);
          const m = [1, 3, 5, 37, 130, 131][Math.floor(rnd() * 6)]!;
          const wg = randomWeight(dtype, m, k, 1000 + m + k), wu = randomWeight(dtype, m, k, 2000 + m + k);
          const x = randn(T * k, 3000 + T + k, 1.5);
          const g = be.uploadWeight({ ...wg, data: wg.data.slice() }), u = be.uploadWeight({ ...wu, data: wu.data.slice() });
          const xt = be.tensor(T, k);
          be.upload(xt, x);
          const out = be.tensor(T, m), up = be.tensor(T, m), out2 = be.tensor(T, m), up2 = be.tensor(T, m);
          be.matmulGeglu(out, xt, g, u, up);
          const fused = await be.download(out), fusedUp = await be.download(up);
          be.matmul(out2, xt, g); be.matmul(up2, xt, u); be.geglu(out2, out2, up2);
          const sep = await be.download(out2);
          const tag = `${dtype} T=${T} k=${k} m=${m} threads=${threads}`;
          expect(Array.from(fused), tag).toEqual(Array.from(sep));
          // this backend leaves x Wup in the scratch (its pair writes it like a matmul would)
          expect(Array.from(fusedUp), tag).toEqual(Array.from(await be.download(up2)));
          expect(maxRelErr(fused, await expectedGeglu(ref, wg, wu, x, T)), tag).toBeLessThan(2e-5);
          for (const t of [xt, out, up, out2, up2]) be.freeTensor(t);
          be.freeWeight(g); be.freeWeight(u);
        }
      }
      be.dispose();
    });
  }

  it('decode: gate and up join the matmul job held on the same input, then one GeGLU (on all threads when long); prefill: one pair job and no GeGLU pass', async () => {
    const { OP_GEGLU, OP_QUANT } = await import('../../src/kernels/wasm/jobs.js');
    for (const threads of [1, 3]) {
      for (const m of [67, 4103]) { // 4103: a GeGLU long enough for its own pool round
        const be = await wasmBackend({ threads });
        const k = 256;
        const [g, u, o] = [1, 2, 3].map((s) => be.uploadWeight(randomWeight('q8_0', m, k, s)));
        const x = be.tensor(1, k);
        be.upload(x, randn(k, 5));
        const jobs = countJobs(be);
        let gegluCalls = 0;
        const geglu = be.geglu.bind(be);
        be.geglu = (...a) => { gegluCalls++; geglu(...a); };
        const other = be.tensor(1, m), out = be.tensor(1, m), up = be.tensor(1, m);
        be.matmul(other, x, o!);
        be.matmulGeglu(out, x, g!, u!, up);
        const got = await be.download(out);
        const tag = `threads=${threads} m=${m}`;
        expect(jobs.get(OP_MATMUL), tag).toBe(1);
        expect(gegluCalls, tag).toBe(1);
        expect(jobs.get(OP_GEGLU) ?? 0, tag).toBe(threads > 1 && m >= 2048 ? 1 : 0);
        // the same through separate ops
        be.geglu = geglu;
        const out2 = be.tensor(1, m), up2 = be.tensor(1, m), other2 = be.tensor(1, m);
        be.matmul(other2, x, o!); be.matmul(out2, x, g!); be.matmul(up2, x, u!); be.geglu(out2, out2, up2);
        expect(Array.from(got), tag).toEqual(Array.from(await be.download(out2)));
        expect(Array.from(await be.download(other)), tag).toEqual(Array.from(await be.download(other2)));
        // and the same as the GeGLU kernel called once on this thread over the whole row (the
        // pool round's chunks must not change any element)
        const gp = be.tensor(1, m), want = be.tensor(1, m);
        be.matmul(gp, x, g!);
        await be.download(gp);
        const ptr = (t: unknown) => (t as { ptr: number }).ptr;
        (be as unknown as { ex: Record<string, (...a: number[]) => void> }).ex.geglu!(ptr(want), ptr(gp), ptr(up2), m);
        expect(Array.from(got), tag).toEqual(Array.from(await be.download(want)));
        // prefill: the pair, whose chunks apply the GeGLU themselves
        const X = be.tensor(3, k), O = be.tensor(3, m), U = be.tensor(3, m);
        be.upload(X, randn(3 * k, 6));
        jobs.clear();
        gegluCalls = 0;
        be.geglu = (...a) => { gegluCalls++; geglu(...a); };
        be.matmulGeglu(O, X, g!, u!, U);
        await be.download(O);
        expect(gegluCalls, tag).toBe(0);
        expect([...jobs.keys()].filter((op) => op !== OP_QUANT), tag).toEqual([OP_MATMUL]);
        expect(jobs.get(OP_MATMUL), tag).toBe(1);
        be.dispose();
      }
    }
  });

  it('mixed weight kinds fall back to the separate ops (same results), and bad shapes are rejected', async () => {
    const be = await wasmBackend({ threads: 3 });
    const ref = new ReferenceBackend();
    const k = 256, m = 45;
    for (const [dg, du] of [['q8_0', 'q4_0'], ['q4_0', 'q4_1'], ['f16', 'f32'], ['q4_k', 'q6_k']] as [DType, DType][]) {
      const wg = randomWeight(dg, m, k, 7), wu = randomWeight(du, m, k, 8);
      const g = be.uploadWeight({ ...wg, data: wg.data.slice() }), u = be.uploadWeight({ ...wu, data: wu.data.slice() });
      for (const T of [1, 3]) {
        const xv = randn(T * k, 9 + T);
        const x = be.tensor(T, k);
        be.upload(x, xv);
        const out = be.tensor(T, m), up = be.tensor(T, m), out2 = be.tensor(T, m), up2 = be.tensor(T, m);
        be.matmulGeglu(out, x, g, u, up);
        be.matmul(out2, x, g); be.matmul(up2, x, u); be.geglu(out2, out2, up2);
        const got = await be.download(out);
        expect(Array.from(got), `${dg}/${du} T=${T}`).toEqual(Array.from(await be.download(out2)));
        expect(maxRelErr(got, await expectedGeglu(ref, wg, wu, xv, T)), `${dg}/${du} T=${T}`).toBeLessThan(2e-5);
      }
    }
    const g = be.uploadWeight(randomWeight('q8_0', m, k, 1)), u = be.uploadWeight(randomWeight('q8_0', m, k, 2));
    const x = be.tensor(1, k), out = be.tensor(1, m), up = be.tensor(1, m);
    expect(() => be.matmulGeglu(out, x, g, u, out)).toThrow(/different tensors/);
    expect(() => be.matmulGeglu(be.tensor(1, m + 1), x, g, u, up)).toThrow();
    expect(() => be.matmulGeglu(out, be.tensor(1, k + 32), g, u, up)).toThrow();
    be.dispose();
  });
});

describe('wasm matmulQkv = three matmuls', () => {
  it('bit for bit, one matmul job, decode and prefill, 3 threads', async () => {
    const be = await wasmBackend({ threads: 3 });
    for (const dtype of ['q8_0', 'q4_k', 'f16'] as DType[]) {
      const k = 512;
      const ws = [133, 33, 33].map((m, i) => be.uploadWeight(randomWeight(dtype, m, k, 40 + i)));
      for (const T of [1, 4, 9]) {
        const x = be.tensor(T, k);
        be.upload(x, randn(T * k, T));
        const a = ws.map((w) => be.tensor(T, w.shape[0]!)), b = ws.map((w) => be.tensor(T, w.shape[0]!));
        const jobs = countJobs(be);
        be.matmulQkv(a[0]!, a[1]!, a[2]!, x, ws[0]!, ws[1]!, ws[2]!);
        const got = await Promise.all(a.map((t) => be.download(t)));
        expect(jobs.get(OP_MATMUL)).toBe(1);
        (be as unknown as { runJob: unknown }).runJob = Object.getPrototypeOf(be).runJob;
        ws.forEach((w, i) => { be.matmul(b[i]!, x, w); void be.download(b[i]!); }); // each its own round
        for (let i = 0; i < 3; i++) expect(Array.from(got[i]!), `${dtype} T=${T} ${i}`).toEqual(Array.from(await be.download(b[i]!)));
      }
    }
    be.dispose();
  });
});

describe('wasm whole model: same logits with and without the fused methods', () => {
  const cases: [string, DType][] = [['tiny-gemma-3', 'q8_0'], ['tiny-gemma-3', 'f16'], ['tiny-gemma-2', 'q4_0'], ['tiny-gemma-3-k256', 'q4_k']];
  for (const [name, dtype] of cases) {
    it(`${name} ${dtype}, 1 and 3 threads, prefill then decode`, async () => {
      for (const threads of [1, 3]) {
        const fusedBe = await wasmBackend({ threads });
        const a = await loadTestModel(name, dtype, fusedBe);
        const b = await loadTestModel(name, dtype, unfused(await wasmBackend({ threads })));
        expect(typeof (fusedBe as Backend).matmulGeglu).toBe('function');
        const ca = a.newCache(), cb = b.newCache();
        for (const chunk of [TOKENS.slice(0, 20), [TOKENS[20]!], [TOKENS[21]!], TOKENS.slice(22, 25)]) {
          const la = await a.eval(chunk, ca), lb = await b.eval(chunk, cb);
          expect(Array.from(la), `${name} ${dtype} threads ${threads}`).toEqual(Array.from(lb));
        }
        a.dispose(); b.dispose();
      }
    });
  }
});
