// Threads: the same kernels split across workers must give bit-identical results to one
// thread (each output is computed by exactly one thread, in the same order), for every
// kernel and for a whole model; the pool survives many jobs and shuts down.
import { describe, expect, it } from 'vitest';
import type { DType } from '../../src/tensor/dtype.js';
import { getCodec } from '../../src/quant/index.js';
import { Pair, randn, randomWeight } from '../helpers/backend-conformance.js';
import { wasmBackend } from './helpers.js';
import { TOKENS, loadTestModel } from './models.js';
import { GEN_MASK, JOB, JOB_PTR, LOCAL_GEN, MAX_CHUNKS, OP_PROBE, RANGE_STRIDE, publishRanges, rangeWords } from '../../src/kernels/wasm/jobs.js';

const DTYPES: DType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k'];

describe('wasm threads == one thread, bit for bit', () => {
  it('matmul of every type, decode (1 row) and prefill (9 rows), fused q/k/v-style groups', async () => {
    for (const threads of [2, 3]) {
      const P = new Pair(await wasmBackend({ threads }), await wasmBackend({ threads: 1 }));
      expect((P.be as unknown as { info: { threads: number } }).info.threads).toBe(threads);
      for (const dtype of DTYPES) {
        const bs = getCodec(dtype).blockSize, k = bs === 256 ? 512 : bs === 32 ? 128 : 72;
        const ws = [P.weight(randomWeight(dtype, 67, k, 1)), P.weight(randomWeight(dtype, 9, k, 2)), P.weight(randomWeight(dtype, 130, k, 3))];
        for (const rows of [1, 9]) {
          const x = P.tensor(rows, k, randn(rows * k, rows));
          const outs = ws.map((w) => P.tensor(rows, w[0].shape[0]!));
          // three matmuls on the same input: held and run as one job
          ws.forEach((w, i) => { P.be.matmul(outs[i]![0], x[0], w[0]); P.ref.matmul(outs[i]![1], x[1], w[1]); });
          for (const o of outs) expect(await P.compare(o), `${dtype} rows=${rows} threads=${threads}`).toBe(0);
        }
      }
      P.be.dispose();
    }
  });

  it('attention over many steps (prefill chunks split across threads, short decode steps not)', async () => {
    const P = new Pair(await wasmBackend({ threads: 2 }), await wasmBackend({ threads: 1 }));
    const H = 8, G = 2, D = 64, cap = 80;
    const caches = [P.be.createKvLayer(cap, G * D), P.ref.createKvLayer(cap, G * D)] as const;
    let pos = 0;
    for (const rows of [40, 1, 1, 30, 1, 3]) {
      const k = P.tensor(rows, G * D, randn(rows * G * D, pos + 1));
      const v = P.tensor(rows, G * D, randn(rows * G * D, pos + 2));
      const q = P.tensor(rows, H * D, randn(rows * H * D, pos + 3));
      const out = P.tensor(rows, H * D);
      const p = { numHeads: H, numKvHeads: G, headDim: D, scale: 0.2, softcap: 20, window: 50, startPos: pos };
      P.be.kvStore(caches[0], k[0], v[0], pos); P.ref.kvStore(caches[1], k[1], v[1], pos);
      P.be.attention(out[0], q[0], caches[0], p); P.ref.attention(out[1], q[1], caches[1], p);
      expect(await P.compare(out)).toBe(0);
      pos += rows;
    }
    P.be.dispose();
  });

  it('whole model logits (tiny-gemma-3, q8_0 and f16), prefill then decode', async () => {
    for (const dtype of ['q8_0', 'f16'] as DType[]) {
      const a = await loadTestModel('tiny-gemma-3', dtype, await wasmBackend({ threads: 2 }));
      const b = await loadTestModel('tiny-gemma-3', dtype, await wasmBackend({ threads: 1 }));
      const ca = a.newCache(), cb = b.newCache();
      for (const chunk of [TOKENS.slice(0, 30), [TOKENS[30]!], [TOKENS[31]!], TOKENS.slice(32)]) {
        const la = await a.eval(chunk, ca), lb = await b.eval(chunk, cb);
        expect(Array.from(la)).toEqual(Array.from(lb));
      }
      a.dispose(); b.dispose();
    }
  });

  it('chunk ranges: any thread of any range count runs every chunk exactly once; an older generation runs none', async () => {
    // one thread calls the kernels' `run` as thread ith of R: it must take its own range from
    // the front and then every other range from the back. The job is the read probe: chunk c
    // xors its own 64-byte lines into results[c], which a plain loop recomputes here.
    const be = await wasmBackend({ threads: 1 });
    const inner = be as unknown as {
      heap: { alloc(n: number, kind: string, what: string): number; u8: Uint8Array };
      memory: WebAssembly.Memory; ex: { run(job: number, gen: number, ith: number): void };
    };
    const chunks = 37, linesPer = 2, bytes = chunks * linesPer * 64;
    const buf = inner.heap.alloc(bytes + 4 * chunks, 'scratch', 'test');
    const u8 = inner.heap.u8;
    for (let i = 0; i < bytes; i++) u8[buf + i] = (i * 2654435761) >>> 24;
    const expected = Array.from({ length: chunks }, (_, c) => {
      const v = new Int32Array(u8.buffer, buf + c * linesPer * 64, linesPer * 16);
      return v.reduce((a, x) => a ^ x, 0);
    });
    const j = new Int32Array(inner.memory.buffer, JOB_PTR, 64);
    const results = new Int32Array(inner.memory.buffer, buf + bytes, chunks);
    const words = rangeWords(inner.memory.buffer);
    const runAs = (ranges: number, ith: number, published: number, gen: number) => {
      results.fill(0x5a5a5a5a);
      j[JOB.OP] = OP_PROBE; j[JOB.CHUNKS] = chunks; j[JOB.DONE] = 0;
      j[JOB.ARGS] = buf; j[JOB.ARGS + 1] = bytes; j[JOB.ARGS + 2] = buf + bytes; j[JOB.ARGS + 3] = linesPer;
      publishRanges(j, words, published, ranges);
      inner.ex.run(JOB_PTR, gen, ith);
    };
    for (const ranges of [1, 2, 3, 5, 37]) {
      for (const ith of new Set([0, 1, ranges - 1].filter((t) => t < ranges))) {
        runAs(ranges, ith, LOCAL_GEN, LOCAL_GEN);
        expect(j[JOB.DONE], `R=${ranges} ith=${ith}`).toBe(chunks);
        expect(Array.from(results), `R=${ranges} ith=${ith}`).toEqual(expected);
        // every range is empty now: front == back
        for (let r = 0; r < ranges; r++) {
          const w = words[(r * RANGE_STRIDE) / 8]!;
          expect(Number((w >> 20n) & 0xfffffn), `range ${r}`).toBe(Number(w & 0xfffffn));
        }
      }
    }
    // a thread still looking at an older generation claims nothing
    runAs(3, 0, 5, 4);
    expect(j[JOB.DONE]).toBe(0);
    expect(results.every((v) => v === 0x5a5a5a5a)).toBe(true);
    // generations are kept to 24 bits in the words; the pool never publishes LOCAL_GEN's
    expect(LOCAL_GEN & GEN_MASK).toBe(GEN_MASK);
    j[JOB.CHUNKS] = MAX_CHUNKS + 1;
    expect(() => publishRanges(j, words, 1, 2)).toThrow(/chunks/);
    be.dispose();
  });

  it('a pool runs thousands of small jobs and is disposed cleanly', async () => {
    const be = await wasmBackend({ threads: 2 });
    const w = be.uploadWeight(randomWeight('q8_0', 8, 32, 1));
    const x = be.tensor(1, 32), o = be.tensor(1, 8);
    be.upload(x, randn(32, 1));
    const t0 = performance.now();
    for (let i = 0; i < 3000; i++) be.matmul(o, x, w), await be.download(o);
    const perJob = (performance.now() - t0) / 3000;
    be.dispose();
    expect(() => be.tensor(1, 1)).toThrow(/disposed/);
    // a barrier round plus a download: far below the ~40 µs of a sleeping Atomics.wait round
    // trip on a quiet machine; the bound is loose because the test machine is shared
    expect(perJob).toBeLessThan(2);
  });
});
