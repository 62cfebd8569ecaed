/**
 * Our wasm engine vs llama.cpp (node-llama-cpp 3.21.1, CPU) on the same GGUF files, in one
 * run: synthetic Gemma 3 270M and 1B shapes in Q8_0, Q4_0 and F16, at 1 thread and at
 * --threads N (default 2). Prints prefill tok/s (128-token prompt, time to first token),
 * decode tok/s (64 greedy tokens) for both, and the ratios ours / llama.cpp.
 *
 *   npx tsx bench/compare-llama.ts [--models 270m,1b] [--types q8_0,q4_0,f16] [--threads 2]
 *                                  [--rounds 3] [--prompt 128] [--gen 64] [--json out.json]
 *                                  [--build auto|simd|relaxed|dotadd]
 *
 * --models takes Gemma 3 sizes (270m, 1b, 4b) or any synth preset name (gemma-2-2b, ...).
 * --build picks our kernel build instead of the engine's choice (auto): simd is what engines
 * without relaxed SIMD run (Safari, Firefox by default), relaxed the plain relaxed build (Node 20
 * and 22), dotadd the dot-add one (Node 24+, recent Chromium).
 * --types takes block types (every matrix in that type, like `llama-quantize --pure`) and
 * llama.cpp recipes (q4_k_m, q5_k_m, q4_k_s, ...: mixed files, written by our quantizer from
 * the synthetic F16 file with the same tensor types and bytes as `llama-quantize`).
 * The GGUFs are generated once into .cache/bench/ (gitignored; the 1B ones take minutes).
 * Both engines stay loaded; measurements alternate ours / llama.cpp for --rounds rounds and
 * the best of each figure is kept (the machine is shared and noisy: compare best with best).
 * Also prints the machine's read bandwidth (wasm probe, at --threads N) and our decode bandwidth
 * share. The probe is taken at the start and again after every round (this VM's DRAM bandwidth
 * moved between 36 and 63 GB/s within minutes), and the shares at the end are of the best
 * probe of the whole run: the machine's capability, not an unlucky moment.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { getLlama, type Llama, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import { benchGemmaModel, benchPrompt, decodeWeightBytes } from '../src/cli/commands/bench.js';
import { createWasmBackend, type WasmBackend } from '../src/kernels/wasm/backend.js';
import { buildLabel } from '../src/kernels/wasm/loader.js';
import { loadPath } from '../src/node.js';
import type { DType } from '../src/tensor/dtype.js';
import { wasmBuildOptions } from './builds.js';
import { benchModelFile } from './synth-model.js';


const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); return i < 0 ? d : args[i + 1]!; };
const models = opt('models', '270m,1b').split(',');
const types = opt('types', 'q8_0,q4_0,f16').split(',') as DType[];
const N = Number(opt('threads', '2'));
const rounds = Number(opt('rounds', '3'));
const promptTokens = Number(opt('prompt', '128'));
const genTokens = Number(opt('gen', '64'));
const jsonOut = args.includes('--json') ? opt('json', 'compare.json') : null;
const threadList = [...new Set([1, N])];
const build = opt('build', 'auto');
const buildOpts = wasmBuildOptions(build);

/** tokens/s (wall clock) and tokens per CPU-second (all threads of the process) */
interface Fig { prefill: number; decode: number; prefillCpu: number; decodeCpu: number }
const best = (a: Fig | undefined, b: Fig): Fig => (a ? {
  prefill: Math.max(a.prefill, b.prefill), decode: Math.max(a.decode, b.decode),
  prefillCpu: Math.max(a.prefillCpu, b.prefillCpu), decodeCpu: Math.max(a.decodeCpu, b.decodeCpu),
} : b);
const cpuS = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

let llamaP: Promise<Llama> | undefined;
const llama = () => (llamaP ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' as never, progressLogs: false, skipDownload: true, maxThreads: 0 } as never));

/** llama.cpp: prefill the prompt (all but its last token, then the last with a sampled token),
 *  then greedy decode; same token ids as ours */
async function benchLlama(ctx: LlamaContext, vocab: number): Promise<Fig> {
  const prompt = benchPrompt(vocab, promptTokens);
  const seq = ctx.getSequence();
  try {
    const c0 = cpuS(), t0 = performance.now();
    const gen = seq.evaluate(prompt as never, { temperature: 0 } as never);
    let n = 0, t1 = 0, c1 = 0;
    for await (const _ of gen) {
      if (n === 0) { t1 = performance.now(); c1 = cpuS(); }
      if (++n > genTokens) break;
    }
    const t2 = performance.now(), c2 = cpuS();
    return {
      prefill: promptTokens / ((t1 - t0) / 1000), decode: genTokens / ((t2 - t1) / 1000),
      prefillCpu: promptTokens / (c1 - c0), decodeCpu: genTokens / (c2 - c1),
    };
  } finally {
    seq.dispose();
  }
}

const rows: Record<string, unknown>[] = [];
const probe = await createWasmBackend({ ...buildOpts, threads: N });
let dram = probe.measureReadBandwidth(512, 5);
probe.dispose();
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`${typeof process.versions.deno === 'string' ? 'Deno' : 'Node'} ${process.version}, V8 ${process.versions.v8}; our kernels: ${buildLabel(probe.info)}`);
console.log(`read-bandwidth probe (wasm, ${N} threads): ${dram.toFixed(1)} GB/s; load average ${load()}`);

for (const size of models) {
  for (const dtype of types) {
    const g0 = performance.now();
    const { name, cfg, path } = await benchModelFile(size, dtype);
    if (performance.now() - g0 > 1000) console.log(`generated ${path} in ${((performance.now() - g0) / 1000).toFixed(0)} s`);
    for (const threads of threadList) {
      const backend: WasmBackend = await createWasmBackend({ ...buildOpts, threads });
      const ours = await loadPath(path, { backend, noTokenizer: true, contextLength: promptTokens + genTokens + 1, prefillChunk: promptTokens });
      const l = await llama();
      const lm: LlamaModel = await l.loadModel({ modelPath: path, gpuLayers: 0 });
      const lctx = await lm.createContext({ contextSize: promptTokens + genTokens + 16, threads, batchSize: promptTokens, sequences: 1 } as never);
      let o: Fig | undefined, c: Fig | undefined;
      for (let r = 0; r < rounds; r++) {
        const res = await benchGemmaModel(ours.model, { promptTokens, genTokens, repeat: 1 });
        o = best(o, { prefill: res.prefillTokPerS, decode: res.decodeTokPerS, prefillCpu: promptTokens / (res.prefillCpuMs / 1000), decodeCpu: genTokens / (res.decodeCpuMs / 1000) });
        c = best(c, await benchLlama(lctx, cfg.vocabSize));
        if (threads === N) dram = Math.max(dram, backend.measureReadBandwidth(512, 3));
      }
      const bytes = decodeWeightBytes(ours.model);
      const row = {
        model: name, dtype, threads,
        oursPrefill: o!.prefill, llamaPrefill: c!.prefill, prefillRatio: o!.prefill / c!.prefill,
        oursDecode: o!.decode, llamaDecode: c!.decode, decodeRatio: o!.decode / c!.decode,
        oursDecodeGBps: (bytes * o!.decode) / 1e9, llamaDecodeGBps: (bytes * c!.decode) / 1e9,
        oursShareOfProbe: (bytes * o!.decode) / 1e9 / dram,
        loadAverage: loadavg()[0],
        oursPrefillPerCpuS: o!.prefillCpu, llamaPrefillPerCpuS: c!.prefillCpu, oursDecodePerCpuS: o!.decodeCpu, llamaDecodePerCpuS: c!.decodeCpu,
      };
      rows.push(row);
      const f = (x: number, d = 1) => x.toFixed(d).padStart(7);
      console.log(`${row.model.padEnd(13)} ${dtype.padEnd(5)} t${threads}  prefill ours ${f(o!.prefill)} llama ${f(c!.prefill)} ratio ${f(row.prefillRatio, 2)}   decode ours ${f(o!.decode)} llama ${f(c!.decode)} ratio ${f(row.decodeRatio, 2)}   ours ${f(row.oursDecodeGBps)} GB/s (${(100 * row.oursShareOfProbe).toFixed(0)}% of the best probe so far)`);
      console.log(`${''.padEnd(25)} load average ${load()}; per CPU-second: prefill ours ${f(o!.prefillCpu)} llama ${f(c!.prefillCpu)} ratio ${f(o!.prefillCpu / c!.prefillCpu, 2)}   decode ours ${f(o!.decodeCpu)} llama ${f(c!.decodeCpu)} ratio ${f(o!.decodeCpu / c!.decodeCpu, 2)}`);
      await lctx.dispose();
      await lm.dispose();
      ours.model.dispose();
      await ours.close();
    }
  }
}
// shares of the best probe of the whole run
console.log(`\nbest read-bandwidth probe of the run (${N} threads): ${dram.toFixed(1)} GB/s`);
for (const row of rows) {
  row.oursShareOfProbe = (row.oursDecodeGBps as number) / dram;
  console.log(`${String(row.model).padEnd(13)} ${String(row.dtype).padEnd(5)} t${row.threads}  our decode ${(row.oursDecodeGBps as number).toFixed(1)} GB/s = ${(100 * (row.oursShareOfProbe as number)).toFixed(0)}% of it; llama.cpp ${(row.llamaDecodeGBps as number).toFixed(1)} GB/s = ${(100 * (row.llamaDecodeGBps as number) / dram).toFixed(0)}%`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ probeGBps: dram, threads: N, promptTokens, genTokens, rounds, rows }, null, 2));
process.exit(0);
