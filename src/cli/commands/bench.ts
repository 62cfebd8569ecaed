import { GemmaError } from '../../errors.js';
import { cliBackend } from '../backend.js';
import type { WebGpuBackend } from '../../kernels/webgpu/backend.js';
import { buildLabel } from '../../kernels/wasm/loader.js';
import type { GemmaModel } from '../../model/model.js';
import { allWeights } from '../../model/weights.js';
import { loadPath } from '../../node.js';
import { byteSize } from '../../tensor/dtype.js';
import { type Command, flagNumber, flagString, parseArgs, UsageError } from '../command.js';
import { kvCacheFlag } from './generate.js';

export interface BenchOptions {
  promptTokens: number;
  genTokens: number;
  /** timed runs; the best of each figure is reported */
  repeat: number;
}

export interface BenchResult {
  promptTokens: number;
  genTokens: number;
  /** prompt tokens / time to first token */
  prefillTokPerS: number;
  /** generated tokens per second after the first */
  decodeTokPerS: number;
  /** prefill of the prompt + argmax of its last logits, ms */
  ttftMs: number;
  /** bytes of weight matrices (read once per decoded token: every layer + the tied output head) */
  weightBytes: number;
  /** weightBytes * decode tokens/s, GB/s (1e9) */
  decodeGBps: number;
  /** process CPU time (all threads) of the best prefill and decode runs, ms: speed per CPU
   *  second tells a kernel's efficiency apart from a busy machine's scheduling */
  prefillCpuMs: number;
  decodeCpuMs: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** bytes a decode step streams: every 2-D weight once (the embedding as the output head) */
export function decodeWeightBytes(model: GemmaModel): number {
  let n = 0;
  for (const w of allWeights(model.weights)) if (w.shape.length === 2) n += byteSize(w.dtype, w.shape) ?? 0;
  return n;
}

/** what a profiled decode step shows of a WebGPU backend created with { profile: true } */
type Profiled = Pick<WebGpuBackend, 'setProfiling' | 'resetProfile' | 'profile' | 'dispatchCounts' | 'encodeMs'>;
function profiled(b: unknown): Profiled | null {
  const p = b as Partial<Profiled>;
  return p.setProfiling && p.profile && p.dispatchCounts && p.resetProfile && p.encodeMs ? (p as Profiled) : null;
}

export interface StepProfile {
  /** GPU ms per kernel class (timestamp queries; empty when the adapter has none) */
  gpuMs: Record<string, number>;
  dispatches: Record<string, number>;
  /** host ms spent recording the step (forward pass + command encoding + submits) */
  hostMs: number;
}

/**
 * One decode step with timestamps on (each dispatch then gets its own compute pass, so the
 * sums run a few µs per dispatch high), after a short prompt.
 */
export async function profileDecodeStep(model: GemmaModel, be: Profiled): Promise<StepProfile> {
  const c = model.newCache(32);
  try {
    const id = await model.nextGreedy(benchPrompt(model.config.vocabSize, 16), c);
    be.resetProfile();
    be.setProfiling(true);
    await model.nextGreedy([id], c);
    return { gpuMs: be.profile(), dispatches: be.dispatchCounts(), hostMs: be.encodeMs() };
  } finally {
    be.setProfiling(false);
    c.dispose();
  }
}

/** a deterministic prompt of ordinary (non-special) token ids */
export function benchPrompt(vocab: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 2 : 10 + ((i * 7919) % (vocab - 10))));
}

/**
 * Time prefill (time to first token) and greedy decode on a fresh cache, `repeat` times
 * after a short warm-up; best of each figure.
 */
export async function benchGemmaModel(model: GemmaModel, o: BenchOptions): Promise<BenchResult> {
  const V = model.config.vocabSize;
  const prompt = benchPrompt(V, o.promptTokens);
  const ctx = o.promptTokens + o.genTokens + 1;
  // warm-up: JIT tiers, allocator, thread pool
  {
    const c = model.newCache(ctx);
    const w = Math.min(16, prompt.length);
    let id = await model.nextGreedy(prompt.slice(0, w), c);
    for (let i = 0; i < Math.min(4, ctx - w); i++) id = await model.nextGreedy([id], c); // within the cache
    c.dispose();
  }
  let ttft = Infinity, decode = Infinity, prefillCpu = Infinity, decodeCpu = Infinity;
  for (let r = 0; r < o.repeat; r++) {
    const c = model.newCache(ctx);
    const c0 = cpuMs(), t0 = performance.now();
    let id = await model.nextGreedy(prompt, c);
    const c1 = cpuMs(), t1 = performance.now();
    for (let i = 0; i < o.genTokens; i++) id = await model.nextGreedy([id], c);
    const c2 = cpuMs(), t2 = performance.now();
    c.dispose();
    ttft = Math.min(ttft, t1 - t0);
    decode = Math.min(decode, t2 - t1);
    prefillCpu = Math.min(prefillCpu, c1 - c0);
    decodeCpu = Math.min(decodeCpu, c2 - c1);
  }
  const weightBytes = decodeWeightBytes(model);
  const decodeTokPerS = o.genTokens / (decode / 1000);
  return {
    promptTokens: o.promptTokens, genTokens: o.genTokens,
    prefillTokPerS: o.promptTokens / (ttft / 1000), decodeTokPerS, ttftMs: ttft,
    weightBytes, decodeGBps: (weightBytes * decodeTokPerS) / 1e9, prefillCpuMs: prefillCpu, decodeCpuMs: decodeCpu,
  };
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure prefill and decode speed of a model (tokens/s, time to first token, GB/s)',
  usage: `usage: gemma-ts bench <model.gguf|dir> [--backend wasm|reference|webgpu] [--threads N]
                      [--prompt-tokens 128] [--gen-tokens 64] [--repeat 3] [--kv-cache f32|f16]
                      [--probe] [--json]

Prefill: the prompt in one chunk, timed to the first token (argmax of its logits).
Decode: --gen-tokens greedy steps. Bandwidth: bytes of all weight matrices (each is read
once per decoded token) x decode tokens/s. --probe also measures the machine's read
bandwidth with the wasm backend's threads and prints the decode bandwidth as a share of it.
Best of --repeat runs after a warm-up. With --backend webgpu, one more decode step is timed
on the GPU per kernel class (timestamp queries, when the adapter has them).`,
  async run(argv) {
    const p = parseArgs(argv, ['json', 'probe']);
    const path = p.positionals[0];
    if (!path) throw new UsageError('missing <model>');
    const name = flagString(p, 'backend') ?? 'wasm';
    const threads = flagNumber(p, 'threads');
    const o: BenchOptions = {
      promptTokens: flagNumber(p, 'prompt-tokens') ?? 128,
      genTokens: flagNumber(p, 'gen-tokens') ?? 64,
      repeat: flagNumber(p, 'repeat') ?? 3,
    };
    for (const [k, v] of Object.entries(o)) if (!(Number.isInteger(v) && v >= 1)) throw new UsageError(`--${k} must be a positive integer`);
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new UsageError('--threads must be a positive integer');
    const kv = kvCacheFlag(p);
    if (kv !== undefined && name !== 'wasm' && name !== 'webgpu') throw new UsageError('--kv-cache applies to the wasm and webgpu backends');
    const backend = await cliBackend(name, threads, { ...(name === 'webgpu' ? { profile: true } : {}), ...(kv ? { kvCache: kv } : {}) });
    const gpu = profiled(backend);
    gpu?.setProfiling(false); // the timed runs go without timestamps
    // the wasm backend's facts (other backends have other `info`)
    type WasmInfo = { threads: number; relaxed: boolean; dotAdd?: boolean; dotAddSpeedup?: number; notes: string[] };
    const wi = (backend as { info?: { threads?: unknown } }).info;
    const info = typeof wi?.threads === 'number' ? (wi as WasmInfo) : undefined;
    const loaded = await loadPath(path, { backend, noTokenizer: true, contextLength: o.promptTokens + o.genTokens + 1, prefillChunk: o.promptTokens });
    try {
      const r = await benchGemmaModel(loaded.model, o);
      const step = gpu ? await profileDecodeStep(loaded.model, gpu) : undefined;
      let dram: number | undefined;
      if (p.flags.has('probe')) {
        const m = backend as { measureReadBandwidth?: (mib?: number, reps?: number) => number };
        if (!m.measureReadBandwidth) throw new GemmaError('BAD_ARGUMENT', `--probe needs the wasm backend`);
        dram = m.measureReadBandwidth(512, 5);
      }
      const out = { model: path, backend: name, threads: info?.threads ?? threads ?? null, relaxedSimd: info?.relaxed ?? null, dotAdd: info?.dotAdd ?? null, kvCache: (backend as { info?: { kvCache?: string } }).info?.kvCache ?? (name === 'wasm' ? kv ?? 'f32' : null), notes: info?.notes ?? [], ...r, ...(dram !== undefined ? { probeGBps: dram, decodeShareOfProbe: r.decodeGBps / dram } : {}), ...(step ? { decodeStep: step } : {}) };
      if (p.flags.has('json')) {
        console.log(JSON.stringify(out));
      } else {
        const f = (x: number, d = 1) => x.toFixed(d);
        console.log(`${path}  backend ${name}${info ? `  threads ${info.threads}  ${buildLabel(info)}` : ''}${kv ? `  KV cache ${kv}` : ''}`);
        for (const n of info?.notes ?? []) console.log(`  note: ${n}`);
        console.log(`  prefill ${o.promptTokens} tokens: ${f(r.prefillTokPerS)} tok/s   time to first token ${f(r.ttftMs)} ms`);
        console.log(`  decode  ${o.genTokens} tokens: ${f(r.decodeTokPerS)} tok/s   weights ${f(r.weightBytes / 1e6, 0)} MB/token -> ${f(r.decodeGBps)} GB/s`);
        if (dram !== undefined) console.log(`  read-bandwidth probe: ${f(dram)} GB/s; decode reaches ${f((100 * r.decodeGBps) / dram, 0)} % of it`);
        if (step) {
          const n = Object.values(step.dispatches).reduce((a, b) => a + b, 0);
          const kinds = Object.entries(step.gpuMs).sort((a, b) => b[1] - a[1]);
          console.log(`  one decode step: ${n} dispatches, host recording ${f(step.hostMs, 2)} ms`);
          if (kinds.length) console.log(`  GPU ms by kernel class (timestamps): ${kinds.map(([k, v]) => `${k} ${f(v, 3)} (${step.dispatches[k] ?? 0})`).join(', ')}`);
          else console.log('  GPU time by kernel class: not available (the adapter has no timestamp-query)');
        }
      }
    } finally {
      loaded.model.dispose();
      await loaded.close();
    }
  },
};
