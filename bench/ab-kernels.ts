/**
 * In-process A/B of two builds of the wasm kernels: both are instantiated on one memory and run
 * the same matmul (exported `matmulOne`, one thread) over the same weights and activations,
 * alternately, so the machine's drift (this VM's speed moves by 30 % within minutes) hits both
 * alike. Separate processes started at different times cannot show a 5 % change here.
 *
 *   node scripts/build-wasm.mjs --force --wat .cache/ab/A     # before the change
 *   node scripts/build-wasm.mjs --force --wat .cache/ab/B     # after it
 *   npx tsx bench/ab-kernels.ts .cache/ab/A .cache/ab/B [--build relaxed|simd|dotadd]
 *       [--build-b VARIANT] [--m 4096] [--k 2048] [--rows 1] [--rounds 4] [types...]
 *
 * --build-b gives B another variant than A (default the same): `.cache/ab/A .cache/ab/A
 * --build relaxed --build-b dotadd` compares the plain relaxed build with the dot-add one.
 *
 * Prints weight GB/s (rows = 1, decode) or GMAC/s (prefill) per round and the best of each.
 * The types `q8a` / `q8k` time the activation quantization instead (ns per column; the two
 * builds' output bytes compared).
 * The type `attention` times the attention kernel instead (a 128-row prefill and two decode
 * shapes, microseconds per call).
 * Noise floor: two copies of one build differ by up to ~1.5 % (code placement).
 * A 4096 x 2048 matrix stays in L3 between calls (the kernel's own speed); --m 16384 streams
 * from DRAM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWasmBackend } from '../src/kernels/wasm/backend.js';
import { benchWeight } from './bench-weight.js';
import type { DType } from '../src/tensor/dtype.js';
import { randn } from '../test/helpers/backend-conformance.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); if (i < 0) return d; const v = args[i + 1]!; args.splice(i, 2); return v; };
const M = Number(opt('m', '4096')), K = Number(opt('k', '2048')), T = Number(opt('rows', '1'));
const rounds = Number(opt('rounds', '4')), build = opt('build', 'relaxed'), buildB = opt('build-b', build);
const std = Number(opt('std', '1'));
const [dirA, dirB, ...rest] = args;
if (!dirA || !dirB) throw new Error('usage: ab-kernels.ts DIR_A DIR_B [options] [types...]');
const types = (rest.length ? rest : ['q8_0', 'q4_0', 'q4_k', 'q6_k', 'f16']) as DType[];
const KIND: Record<string, number> = { f32: 0, f16: 1, bf16: 2, q8_0: 3, q4_0: 4, q4_1: 5, q5_0: 6, q5_1: 7, q4_k: 8, q5_k: 9, q6_k: 10 };

// the backend lays out weights (x4 repack) and owns the memory; its own build is not timed
const be = await createWasmBackend({ threads: 1, relaxed: build === 'simd' ? false : 'auto' });
if ((build !== 'simd') !== be.info.relaxed) throw new Error(`the ${build} build is not available here`);
const memory = (be as unknown as { memory: WebAssembly.Memory }).memory;
type Kernels = Record<string, (...a: number[]) => number>;
/** wasm address of a tensor or weight of this backend */
const ptr = (t: unknown): number => (t as { ptr: number }).ptr;
async function instantiate(dir: string, variant: string): Promise<Kernels> {
  const bytes = readFileSync(join(dir, `kernels-${variant}.wasm`));
  return (await WebAssembly.instantiate(bytes, { env: { memory } })).instance.exports as unknown as Kernels;
}
const builds: [string, Kernels][] = [['A', await instantiate(dirA, build)], ['B', await instantiate(dirB, buildB)]];
console.log(`A = ${dirA} (${build}), B = ${dirB} (${buildB}); 1 thread, [${M} x ${K}], ${T} activation row(s)`);

for (const dtype of types) {
  if (dtype === ('attention' as DType)) { abAttention(); continue; }
  if (dtype === ('q8a' as DType) || dtype === ('q8k' as DType)) { abQuant(dtype === ('q8k' as DType)); continue; }
  const { spec, rowBytes: rb } = benchWeight(dtype, M, K, std);
  const w = be.uploadWeight(spec);
  const x = be.tensor(T, K), out = be.tensor(T, M);
  be.upload(x, randn(T * K, 2));
  const kq = builds[0]![1];
  const float = KIND[dtype]! <= 2, k8 = dtype.endsWith('_k');
  const xs = float ? 0 : k8 ? kq.q8kRowBytes!(K) : kq.q8aRowBytes!(K);
  const xq = be.tensor(T, Math.ceil(xs / 4) + 16);
  const scratch = be.tensor(1, 2 << 20); // 8 MiB: more than any kernel's per-thread prefill scratch
  if (!float) (k8 ? kq.quantQ8K! : kq.quantQ8A!)(ptr(x), K, ptr(xq), xs, 0, T);
  const unit = T === 1 ? 'GB/s' : 'GMAC/s';
  const rate = (ms: number) => (T === 1 ? (M * rb) / ms / 1e6 : (T * M * K) / ms / 1e6);
  const best = [Infinity, Infinity];
  const line: string[] = [];
  for (let r = -1; r < rounds; r++) { // round -1: warm-up (V8 tiers the kernels up), not counted
    builds.forEach(([name, e], i) => {
      let b = Infinity;
      for (let rep = 0; rep < (T === 1 ? 20 : 2); rep++) {
        const t0 = performance.now();
        e.matmulOne!(KIND[dtype]!, ptr(w), float ? ptr(x) : ptr(xq), xs, ptr(out), M, K, T, 0, Math.ceil(M / 4), T > 1 ? ptr(scratch) : 0);
        b = Math.min(b, performance.now() - t0);
      }
      if (r < 0) return;
      best[i] = Math.min(best[i]!, b);
      line.push(`${name} ${rate(b).toFixed(1)}`);
    });
  }
  console.log(`${dtype.padEnd(5)} ${unit}: ${line.join('  ')}   best A ${rate(best[0]!).toFixed(1)}, B ${rate(best[1]!).toFixed(1)} (B/A ${(best[0]! / best[1]!).toFixed(3)})`);
  for (const t of [x, out, xq, scratch]) be.freeTensor(t);
  be.freeWeight(w);
}

/** activation quantization (quantQ8A / quantQ8K) of --rows rows of --k columns: ns per column;
 *  and whether both builds wrote the same bytes */
function abQuant(k8: boolean): void {
  const kq = builds[0]![1];
  const xs = k8 ? kq.q8kRowBytes!(K) : kq.q8aRowBytes!(K);
  const x = be.tensor(T, K);
  be.upload(x, randn(T * K, 2));
  const outs = builds.map(() => be.tensor(T, Math.ceil(xs / 4) + 16));
  const best = [Infinity, Infinity];
  for (let r = -1; r < rounds; r++) {
    builds.forEach(([, e], i) => {
      let b = Infinity;
      for (let rep = 0; rep < 50; rep++) {
        const t0 = performance.now();
        for (let it = 0; it < 20; it++) (k8 ? e.quantQ8K! : e.quantQ8A!)(ptr(x), K, ptr(outs[i]), xs, 0, T);
        b = Math.min(b, (performance.now() - t0) / 20);
      }
      if (r >= 0) best[i] = Math.min(best[i]!, b);
    });
  }
  const u8 = new Uint8Array(memory.buffer);
  const a = u8.subarray(ptr(outs[0]), ptr(outs[0]) + T * xs), b = u8.subarray(ptr(outs[1]), ptr(outs[1]) + T * xs);
  const same = a.every((v, i) => v === b[i]);
  const ns = (ms: number) => ((ms * 1e6) / (T * K)).toFixed(3);
  console.log(`${k8 ? 'quantQ8K' : 'quantQ8A'} ${T} x ${K}: best A ${ns(best[0]!)} ns/column, B ${ns(best[1]!)} (A/B ${(best[0]! / best[1]!).toFixed(3)}); outputs ${same ? 'identical' : 'DIFFER'}`);
  for (const t of [x, ...outs]) be.freeTensor(t);
}

function abAttention(): void {
  for (const [rows, startPos, H, G, D] of [[128, 0, 4, 1, 256], [1, 500, 4, 1, 256], [1, 1000, 8, 4, 64], [1, 2000, 4, 1, 256]] as const) {
    const cap = 2048, kvDim = G * D, n = startPos + rows;
    const cache = be.createKvLayer(cap, kvDim) as unknown as { k: number; v: number };
    const k = be.tensor(n, kvDim), v = be.tensor(n, kvDim);
    be.upload(k, randn(n * kvDim, 1)); be.upload(v, randn(n * kvDim, 2));
    be.kvStore(cache as never, k, v, 0);
    const q = be.tensor(rows, H * D), out = be.tensor(rows, H * D);
    be.upload(q, randn(rows * H * D, 3));
    const scratch = be.tensor(1, (H / G) * (cap + 1) + 64); // attention.ts: the group's score rows
    const best = [Infinity, Infinity];
    for (let r = -1; r < rounds; r++) {
      builds.forEach(([, e], i) => {
        let b = Infinity;
        for (let rep = 0; rep < (rows > 1 ? 3 : 50); rep++) {
          const t0 = performance.now();
          // one item per (row, KV head), all keys (no key ranges: split 0)
          e.attention!(ptr(out), ptr(q), cache.k, cache.v, rows, H, G, D, cap, startPos, 0, 0.06, 0, ptr(scratch), 0, rows * G, 0, 0, 0);
          b = Math.min(b, performance.now() - t0);
        }
        if (r >= 0) best[i] = Math.min(best[i]!, b);
      });
    }
    console.log(`attention rows ${rows} at position ${startPos}, ${H} heads / ${G} KV heads x ${D}: best A ${(best[0]! * 1000).toFixed(1)} us, B ${(best[1]! * 1000).toFixed(1)} us (A/B ${(best[0]! / best[1]!).toFixed(3)})`);
    for (const t of [k, v, q, out, scratch]) be.freeTensor(t);
  }
}
process.exit(0);
