/**
 * In-process A/B of the wasm backend's column panels (src/kernels/wasm/layout.ts panelsOf): the
 * same weights uploaded whole (A) and in panels (B) on one backend, timed alternately.
 *
 *   npx tsx bench/ab-panels.ts [--types q8_0,f16] [--threads 1] [--rows 1] [--m 1152] [--k 6912]
 *                              [--n 24] [--rounds 6]
 *   npx tsx bench/ab-panels.ts --model FILE.gguf [--threads 2] [--rounds 5] [--gen 32] [--prompt 64]
 *
 * Matrices: --n distinct [m x k] matrices per pass (24 x 8.5 MB for Q8_0: every pass streams
 * from DRAM), one matmul round each; weight GB/s (rows = 1) or GMAC/s (prefill rows), best of
 * --rounds passes of each, alternated. --model: the GGUF loaded twice into one backend, prefill of
 * --prompt tokens and greedy decode of --gen tokens on each, alternated.
 */
import { benchPrompt } from '../src/cli/commands/bench.js';
import { createWasmBackend, type WasmWeight } from '../src/kernels/wasm/backend.js';
import { loadPath } from '../src/node.js';
import type { DType } from '../src/tensor/dtype.js';
import { benchWeight, distinctCopy } from './bench-weight.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); return i < 0 ? d : args[i + 1]!; };
const threads = Number(opt('threads', '1')), rounds = Number(opt('rounds', '6'));
const be = await createWasmBackend({ threads });
const model = opt('model', '');

if (model) {
  const gen = Number(opt('gen', '32')), promptN = Number(opt('prompt', '64'));
  const models = [];
  for (const on of [false, true]) {
    be.setColumnPanels(on);
    models.push((await loadPath(model, { backend: be, noTokenizer: true, contextLength: promptN + gen + 8 })).model);
  }
  const prompt = benchPrompt(models[0]!.config.vocabSize, promptN);
  const best = [[Infinity, Infinity], [Infinity, Infinity]];
  for (let r = 0; r < rounds; r++) {
    const line: string[] = [];
    for (const [i, m] of models.entries()) {
      const c = m.newCache(promptN + gen + 8);
      const t0 = performance.now();
      let id = await m.nextGreedy(prompt, c);
      const tp = performance.now() - t0;
      for (let j = 0; j < 4; j++) id = await m.nextGreedy([id], c);
      const t1 = performance.now();
      for (let j = 0; j < gen; j++) id = await m.nextGreedy([id], c);
      const td = (performance.now() - t1) / gen;
      c.dispose();
      best[i]![0] = Math.min(best[i]![0]!, tp); best[i]![1] = Math.min(best[i]![1]!, td);
      line.push(`${'AB'[i]} prefill ${((promptN / tp) * 1000).toFixed(1)} decode ${(1000 / td).toFixed(2)} tok/s`);
    }
    console.log(line.join('   '));
  }
  const [A, B] = best as [number[], number[]];
  console.log(`${model}, ${threads} thread(s): prefill B/A ${(A[0]! / B[0]!).toFixed(3)}, decode B/A ${(A[1]! / B[1]!).toFixed(3)} (A whole matrices, B column panels; best of ${rounds})`);
} else {
  const types = opt('types', 'q8_0,f16').split(',') as DType[];
  const T = Number(opt('rows', '1')), M = Number(opt('m', '1152')), K = Number(opt('k', '6912')), N = Number(opt('n', '24'));
  for (const dt of types) {
    const { spec } = benchWeight(dt, M, K);
    // distinct bytes per matrix, so a pass streams all N of them
    const sets = [false, true].map((on) => {
      be.setColumnPanels(on);
      return Array.from({ length: N }, (_, i) => be.uploadWeight({ ...spec, data: distinctCopy(spec.data, i) }) as WasmWeight);
    });
    be.setColumnPanels(true);
    const x = be.tensor(T, K), out = be.tensor(T, M);
    be.upload(x, Float32Array.from({ length: T * K }, (_, i) => Math.sin(i * 12.9898)));
    const rate = (ms: number) => (T === 1 ? (N * spec.data.length) / ms / 1e6 : (N * T * M * K) / ms / 1e6);
    const best = [Infinity, Infinity], line: string[] = [];
    for (let r = -1; r < rounds; r++) {
      for (const [i, ws] of sets.entries()) {
        const t0 = performance.now();
        for (const w of ws) { be.matmul(out, x, w); await be.download(out); }
        const ms = performance.now() - t0;
        if (r < 0) continue; // warm-up
        best[i] = Math.min(best[i]!, ms);
        line.push(`${'AB'[i]} ${rate(ms).toFixed(1)}`);
      }
    }
    console.log(`${dt.padEnd(5)} [${M} x ${K}] x ${N}, ${sets[1]![0]!.panels} panels, ${threads} thread(s), ${T} row(s), ${T === 1 ? 'GB/s' : 'GMAC/s'}: ${line.join(' ')}  best A ${rate(best[0]!).toFixed(1)} B ${rate(best[1]!).toFixed(1)} (B/A ${(best[0]! / best[1]!).toFixed(3)})`);
    for (const ws of sets) for (const w of ws) be.freeWeight(w);
    be.freeTensor(x); be.freeTensor(out);
  }
}
be.dispose();
process.exit(0);
