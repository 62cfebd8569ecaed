/**
 * Where a decode step of the wasm backend spends its time, per op class:
 *
 *   npx tsx bench/profile-decode.ts [--models 270m,1b] [--type q8_0] [--threads 1,2]
 *                                   [--context 64] [--steps 16] [--split] [--no-fused]
 *                                   [--ab ROUNDS [--toggle fused|ranges|split [--split 32] [--split-base 64]]]
 *                                   [--prefill] [--build auto|simd|relaxed|dotadd]
 *
 * Loads the synthetic GGUF of bench/compare-llama.ts (.cache/bench/, synth-model.ts benchModelFile; --models
 * also takes preset names, --type recipes such as q4_k_m), prefills `--context`
 * tokens, then times `--steps` decode steps with every backend op wrapped:
 * - matmul rounds (the backend holds consecutive matmuls on one input and runs them as one
 *   pool round): time of the round, its weight bytes and GB/s, keyed by the weights' roles
 *   (blk.N. stripped); activation quantization separately; `--split` runs every matmul as its
 *   own round (no fusion) to see each matrix alone;
 * - the other ops (norms, rope, attention, kvStore, add, geglu, argmax, tensor alloc/free);
 * - "forward (JS)": the step's wall time not inside any op (the forward pass's own code);
 * - an empty pool round (publish a job of one no-op chunk per thread, wait for all): the
 *   barrier cost, times the rounds per step.
 * And the read-bandwidth probe at the same thread count, to compare each matmul's GB/s with.
 * Numbers are per step (ms), best-of-steps medians are not used: the mean over the steps.
 *
 * `--no-fused` hides the backend's optional fused methods (matmulQkv, matmulGeglu) so the
 * forward pass uses the plain ops. `--ab ROUNDS` instead times decode with and without them
 * on the same loaded model, alternating blocks of `--steps` steps for ROUNDS rounds (no op
 * wrapping): noise hits both alike; prints each variant's best and median block. With
 * `--toggle ranges` the A/B is instead per-thread chunk ranges (each thread streams its own
 * contiguous rows) against one shared range (the threads' chunks interleave); with `--toggle split`,
 * decode attention in work items of `--split` keys against `--split-base` (WasmBackend.attnSplitKeys).
 * `--prefill` profiles prefill instead: each of `--steps` steps is a prefill of `--context` tokens
 * (one chunk) into a fresh cache.
 */
import { type WasmBackend, createWasmBackend } from '../src/kernels/wasm/backend.js';
import { buildLabel } from '../src/kernels/wasm/loader.js';
import { JOB, OP_PROBE } from '../src/kernels/wasm/jobs.js';
import { loadPath } from '../src/node.js';
import { byteSize, type DType } from '../src/tensor/dtype.js';
import { wasmBuildOptions } from './builds.js';
import { benchModelFile } from './synth-model.js';
import { loadavg } from 'node:os';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); return i < 0 ? d : args[i + 1]!; };
const models = opt('models', '270m,1b').split(',');
const dtype = opt('type', 'q8_0') as DType;
const threadList = opt('threads', '1,2').split(',').map(Number);
const context = Number(opt('context', '64'));
const steps = Number(opt('steps', '16'));
const split = args.includes('--split');
const noFused = args.includes('--no-fused');
const abRounds = Number(opt('ab', '0'));
const toggle = opt('toggle', 'fused') as 'fused' | 'ranges' | 'split';
if (!['fused', 'ranges', 'split'].includes(toggle)) throw new Error(`--toggle fused|ranges|split, got ${toggle}`);
const prefillMode = args.includes('--prefill');
const build = opt('build', 'auto');
const buildOpts = wasmBuildOptions(build);
const splitKeys = Number(opt('split', '32')), splitBase = Number(opt('split-base', '64'));
function setSplit(be: WasmBackend, on: boolean): void {
  be.attnSplitKeys = on ? splitKeys : splitBase;
}

/** show or hide the backend's optional fused methods (forward.ts checks for them per call) */
function setFused(be: WasmBackend, on: boolean): void {
  const o = be as unknown as Record<string, unknown>;
  for (const k of ['matmulQkv', 'matmulGeglu']) {
    if (on) delete o[k];
    else o[k] = undefined;
  }
}

/** --toggle ranges: per-thread chunk ranges (on) or one shared range (off: the threads'
 *  chunks interleave, as with a single claim counter) */
function setRanges(be: WasmBackend, on: boolean): void {
  const pool = (be as unknown as { pool: { perThreadRanges: boolean } | null }).pool;
  if (pool) pool.perThreadRanges = on;
}

/** the backend's private parts this profiler wraps (names checked at run time) */
interface Internals {
  flush(): void;
  runJob(op: number, chunks: number, parallel: boolean): void;
  pending: { w: WeightInfo; up?: { w: WeightInfo } }[];
  scratchBuf(key: string, bytes: number): number;
  jobI32(): Int32Array;
}

interface WeightInfo { name: string; dtype: DType; shape: readonly number[] }

interface Stat { ms: number; calls: number; bytes: number }

function role(name: string): string { return name.replace(/^blk\.\d+\./, '').replace(/\.weight$/, ''); }

function instrument(be: WasmBackend) {
  const stats = new Map<string, Stat>();
  const add = (key: string, ms: number, bytes = 0) => {
    const s = stats.get(key) ?? { ms: 0, calls: 0, bytes: 0 };
    s.ms += ms; s.calls++; s.bytes += bytes;
    stats.set(key, s);
  };
  const inner = be as unknown as Internals;
  let inOps = 0; // ms spent inside any wrapped op this step
  let rounds = 0;
  let roundLabel = '';
  const runJob = inner.runJob.bind(be);
  inner.runJob = (op, chunks, parallel) => {
    if (parallel && be.info.threads > 1) rounds++;
    if (roundLabel.startsWith('matmul') && op === 2) {
      const t0 = performance.now();
      runJob(op, chunks, parallel);
      add('quantize activations', performance.now() - t0);
      return;
    }
    runJob(op, chunks, parallel);
  };
  const flush = inner.flush.bind(be);
  inner.flush = () => {
    if (!inner.pending.length) return;
    // a GeGLU pair (matmulGeglu) reads both weights and applies GeGLU in the same round
    const ws = inner.pending.flatMap((p) => (p.up ? [p.w, p.up.w] : [p.w]));
    const bytes = ws.reduce((a, w) => a + (byteSize(w.dtype, [...w.shape]) ?? 0), 0);
    const names = inner.pending.map((p) => (p.up ? `${role(p.w.name)}*${role(p.up.w.name)}(geglu)` : role(p.w.name)));
    const key = `matmul ${names.join('+')}`;
    roundLabel = 'matmul';
    const t0 = performance.now();
    const q0 = stats.get('quantize activations')?.ms ?? 0;
    flush();
    const ms = performance.now() - t0;
    const q = (stats.get('quantize activations')?.ms ?? 0) - q0;
    roundLabel = '';
    add(key, ms - q, bytes);
    inOps += ms;
  };
  const wrap = (name: string, label = name) => {
    const b = be as unknown as Record<string, (...a: unknown[]) => unknown>;
    const f = b[name]!.bind(be);
    b[name] = (...a: unknown[]) => {
      if (name !== 'matmul') inner.flush();
      const t0 = performance.now();
      const r = f(...a);
      if (name === 'matmul') {
        if (split) inner.flush();
        return r;
      }
      const ms = performance.now() - t0;
      add(label, ms);
      inOps += ms;
      return r;
    };
  };
  for (const op of ['rmsNorm', 'rope', 'kvStore', 'attention', 'geglu', 'add', 'softcap', 'copyRows', 'argmax', 'embed', 'matmul', 'download']) wrap(op);
  wrap('tensor', 'tensor alloc+zero');
  wrap('freeTensor', 'tensor free');
  return {
    stats,
    startStep() { inOps = 0; rounds = 0; },
    endStep(wallMs: number) { add('forward (JS) and the rest', wallMs - inOps); return rounds; },
  };
}

/** one empty pool round: one no-op probe chunk per thread (0 bytes each) */
function emptyRoundUs(be: WasmBackend, reps = 2000): number {
  const inner = be as unknown as Internals;
  const buf = inner.scratchBuf('profile', 4096);
  let best = Infinity;
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      const j = inner.jobI32(), a = JOB.ARGS;
      j[a] = buf; j[a + 1] = 0; j[a + 2] = buf + 64; j[a + 3] = 0;
      inner.runJob(OP_PROBE, be.info.threads, true);
    }
    best = Math.min(best, ((performance.now() - t0) * 1000) / reps);
  }
  return best;
}

type Model = Awaited<ReturnType<typeof loadPath>>['model'];

/** decode with and without the toggled feature, alternating blocks of `steps` steps */
async function abCompare(size: string, be: WasmBackend, threads: number, model: Model, cache: ReturnType<Model['newCache']>, id0: number): Promise<void> {
  const ms: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const cpu: Record<'off' | 'on', number[]> = { off: [], on: [] };
  let id = id0;
  for (let r = 0; r < abRounds; r++) {
    for (const v of (r % 2 ? ['on', 'off'] : ['off', 'on']) as ('off' | 'on')[]) {
      (toggle === 'fused' ? setFused : toggle === 'ranges' ? setRanges : setSplit)(be, v === 'on');
      id = await model.nextGreedy([id], cache); // one untimed step after the switch
      const t0 = performance.now(), c0 = process.cpuUsage();
      for (let s = 0; s < steps; s++) id = await model.nextGreedy([id], cache);
      ms[v].push((performance.now() - t0) / steps);
      const c = process.cpuUsage(c0);
      cpu[v].push((c.user + c.system) / 1000 / steps);
    }
  }
  setFused(be, true);
  setRanges(be, true);
  setSplit(be, false);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const row = (v: 'off' | 'on') => `best ${Math.min(...ms[v]).toFixed(2)} ms (${(1000 / Math.min(...ms[v])).toFixed(1)} tok/s), median ${med(ms[v]).toFixed(2)} ms; CPU (all threads) best ${Math.min(...cpu[v]).toFixed(2)}, median ${med(cpu[v]).toFixed(2)} ms/step`;
  const [offName, onName] = toggle === 'fused' ? ['separate ops', 'fused'] : toggle === 'ranges' ? ['shared range', 'per-thread ranges'] : [`${splitBase}-key items`, `${splitKeys}-key items`];
  console.log(`\ngemma-3-${size} ${dtype}, ${threads} thread(s), ${abRounds} rounds of ${steps} steps each way; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`  ${(offName + ':').padEnd(19)} ${row('off')}`);
  console.log(`  ${(onName + ':').padEnd(19)} ${row('on')}`);
  console.log(`  ${onName} / ${offName}: best ${(Math.min(...ms.off) / Math.min(...ms.on)).toFixed(3)}x, median ${(med(ms.off) / med(ms.on)).toFixed(3)}x speed`);
}

for (const size of models) {
  const { name, cfg, path } = await benchModelFile(size, dtype);
  for (const threads of threadList) {
    const backend = await createWasmBackend({ ...buildOpts, threads });
    const probeGBps = abRounds > 0 ? 0 : backend.measureReadBandwidth(512, 5);
    const roundUs = abRounds > 0 ? 0 : emptyRoundUs(backend);
    const loaded = await loadPath(path, { backend, noTokenizer: true, contextLength: context + (abRounds > 0 ? 2 * abRounds * (steps + 1) : steps) + 8, prefillChunk: 128 });
    const model = loaded.model;
    const cache = model.newCache();
    const prompt = Array.from({ length: context }, (_, i) => (i === 0 ? 2 : 10 + ((i * 7919) % (cfg.vocabSize - 10))));
    let id = await model.nextGreedy(prompt, cache);
    for (let i = 0; i < 3; i++) id = await model.nextGreedy([id], cache); // warm-up
    if (abRounds > 0) {
      await abCompare(size, backend, threads, model, cache, id);
      cache.dispose();
      model.dispose();
      await loaded.close();
      continue;
    }
    setFused(backend, !noFused);
    const prof = instrument(backend);
    let wall = 0, rounds = 0;
    const c0 = process.cpuUsage();
    for (let s = 0; s < steps; s++) {
      const pc = prefillMode ? model.newCache() : null;
      prof.startStep();
      const t0 = performance.now();
      if (pc) await model.nextGreedy(prompt, pc);
      else id = await model.nextGreedy([id], cache);
      const ms = performance.now() - t0;
      pc?.dispose();
      rounds = prof.endStep(ms);
      wall += ms;
    }
    const cpu = process.cpuUsage(c0);
    cache.dispose();
    const stepMs = wall / steps;
    console.log(`\n${name} ${dtype}, ${backend.info.threads} thread(s), ${buildLabel(backend.info)}${split ? ', every matmul its own round' : ''}${noFused ? ', fused methods hidden' : ''}; ${prefillMode ? `prefill of ${context} tokens` : `context ${context}`}`);
    console.log(`  ${prefillMode ? 'prefill' : 'step'} ${stepMs.toFixed(2)} ms = ${(((prefillMode ? context : 1) * 1000) / stepMs).toFixed(1)} tok/s; CPU ${((cpu.user + cpu.system) / 1000 / steps).toFixed(2)} ms/step; probe ${probeGBps.toFixed(1)} GB/s; empty pool round ${roundUs.toFixed(2)} µs x ${rounds} rounds/step = ${((roundUs * rounds) / 1000).toFixed(2)} ms`);
    const rowsOut = [...prof.stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
    for (const [k, s] of rowsOut) {
      const per = s.ms / steps;
      const gbps = s.bytes ? ` ${((s.bytes / s.ms) / 1e6).toFixed(1).padStart(5)} GB/s = ${((100 * s.bytes) / s.ms / 1e6 / probeGBps).toFixed(0).padStart(3)} % of probe; ${(s.bytes / s.calls / 1e6).toFixed(2)} MB/round` : '';
      console.log(`  ${k.padEnd(42)} ${per.toFixed(3).padStart(7)} ms ${((100 * per) / stepMs).toFixed(1).padStart(5)} %  ${String(s.calls / steps).padStart(4)}/step${gbps}`);
    }
    model.dispose();
    await loaded.close();
  }
}
process.exit(0);
