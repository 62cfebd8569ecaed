/**
 * Where a multi-threaded decode step of the wasm backend goes, measured without wrapping the
 * ops (bench/profile-decode.ts wraps every op and inflates the small ones):
 *
 *   npx tsx bench/decode-rounds.ts [--models 270m,1b] [--threads 2] [--context 64] [--steps 48]
 *                                  [--blocks 3] [--synthetic]
 *
 * Default: the synthetic Q8_0 GGUF of bench/compare-llama.ts, `--context` prompt tokens, then
 * `--blocks` blocks of `--steps` greedy decode steps; per step: wall time, the time inside
 * pool rounds by job (matmul, attention, activation quantization), the part of it the calling
 * thread spent waiting for the workers after its own chunks, and the time outside pool rounds
 * (norms, RoPE, KV store, embedding, argmax, the forward pass's JS).
 *
 * `--synthetic`: only the matmul rounds of one decode step, on random Q8_0 weights of the
 * model's shapes (per layer: q/k/v as one round, o, gate/up + GeGLU, down; then the output
 * head), each round flushed like the forward pass does; best of 20 steps, with and without the
 * head: the ceiling the matmul kernels and the pool reach on this machine.
 */
import { loadavg } from 'node:os';
import { type WasmBackend, createWasmBackend } from '../src/kernels/wasm/backend.js';
import { JOB, OP_ATTN, OP_MATMUL, OP_QUANT } from '../src/kernels/wasm/jobs.js';
import { ThreadPool } from '../src/kernels/wasm/pool.js';
import { getPreset, type GemmaConfig } from '../src/model/config.js';
import { loadPath } from '../src/node.js';
import { getCodec } from '../src/quant/index.js';
import { synthModelFile } from './synth-model.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); return i < 0 ? d : args[i + 1]!; };
const models = opt('models', '270m,1b').split(',');
const threads = Number(opt('threads', '2'));
const context = Number(opt('context', '64'));
const steps = Number(opt('steps', '48'));
const blocks = Number(opt('blocks', '3'));
const synthetic = args.includes('--synthetic');

// time every pool round (ThreadPool.run) and the calling thread's wait in it (waitDone)
const P = ThreadPool.prototype as unknown as {
  run(job: number): void;
  waitDone(chunks: number): void;
};
const origRun = P.run, origWait = P.waitDone;
let on = false, waitMs = 0, rounds = 0;
const byOp = new Map<number, number>();
P.waitDone = function (this: unknown, chunks: number) {
  if (!on) return origWait.call(this, chunks);
  const t = performance.now();
  try { origWait.call(this, chunks); } finally { waitMs += performance.now() - t; }
};
P.run = function (this: { j: Int32Array }, job: number) {
  if (!on) return origRun.call(this, job);
  const op = this.j[JOB.OP]!, t = performance.now();
  rounds++;
  try { origRun.call(this, job); } finally { byOp.set(op, (byOp.get(op) ?? 0) + performance.now() - t); }
};
const OP_NAMES = new Map([[OP_MATMUL, 'matmul'], [OP_ATTN, 'attention'], [OP_QUANT, 'quantize']]);

async function realSteps(size: string): Promise<void> {
  const cfg = getPreset(`gemma-3-${size}`);
  const path = await synthModelFile(`.cache/bench/gemma-3-${size}-q8_0.gguf`, cfg, 'q8_0', { seed: 1 });
  const backend = await createWasmBackend({ threads });
  const loaded = await loadPath(path, { backend, noTokenizer: true, contextLength: context + (blocks + 1) * steps + 16, prefillChunk: 128 });
  const model = loaded.model, cache = model.newCache();
  let id = await model.nextGreedy(Array.from({ length: context }, (_, i) => (i === 0 ? 2 : 10 + ((i * 7919) % (cfg.vocabSize - 10)))), cache);
  for (let s = 0; s < 8; s++) id = await model.nextGreedy([id], cache);
  console.log(`\ngemma-3-${size} Q8_0, ${backend.info.threads} thread(s), context ${context}.., ${steps} steps per block; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (let b = 0; b < blocks; b++) {
    waitMs = 0; rounds = 0; byOp.clear(); on = true;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) id = await model.nextGreedy([id], cache);
    const ms = (performance.now() - t0) / steps;
    on = false;
    const inRounds = [...byOp.values()].reduce((a, v) => a + v, 0) / steps;
    const ops = [...byOp].map(([o, v]) => `${OP_NAMES.get(o) ?? o} ${(v / steps).toFixed(2)}`).join(', ');
    console.log(`  step ${ms.toFixed(2)} ms (${(1000 / ms).toFixed(1)} tok/s): ${(rounds / steps).toFixed(0)} pool rounds ${inRounds.toFixed(2)} ms (${ops}; the calling thread waiting for workers ${(waitMs / steps).toFixed(2)}), outside rounds ${(ms - inRounds).toFixed(2)} ms`);
  }
  cache.dispose();
  model.dispose();
  await loaded.close();
  backend.dispose();
}

/** random Q8_0 weight [m, k] (one quantized row repeated: speed does not depend on values) */
function q8Weight(be: WasmBackend, m: number, k: number, name: string) {
  const c = getCodec('q8_0'), rb = (k / 32) * c.blockBytes;
  const row = new Uint8Array(rb);
  const x = new Float32Array(k);
  for (let i = 0; i < k; i++) x[i] = Math.sin(i * 0.37 + m);
  c.quantizeRow(x, 0, k, row, 0);
  const data = new Uint8Array(m * rb);
  for (let r = 0; r < m; r++) data.set(row, r * rb);
  return be.uploadWeight({ name, dtype: 'q8_0', shape: [m, k], data });
}

async function syntheticStep(size: string): Promise<void> {
  const cfg: GemmaConfig = getPreset(`gemma-3-${size}`);
  const H = cfg.hiddenSize, Q = cfg.numHeads * cfg.headDim, KV = cfg.numKvHeads * cfg.headDim, F = cfg.intermediateSize;
  const be = await createWasmBackend({ threads });
  const layers = Array.from({ length: cfg.numLayers }, (_, i) => ({
    q: q8Weight(be, Q, H, `q${i}`), k: q8Weight(be, KV, H, `k${i}`), v: q8Weight(be, KV, H, `v${i}`), o: q8Weight(be, H, Q, `o${i}`),
    g: q8Weight(be, F, H, `g${i}`), u: q8Weight(be, F, H, `u${i}`), d: q8Weight(be, H, F, `d${i}`),
  }));
  const head = q8Weight(be, cfg.vocabSize, H, 'head');
  const x = be.tensor(1, H), q = be.tensor(1, Q), k = be.tensor(1, KV), v = be.tensor(1, KV), a = be.tensor(1, Q);
  const o = be.tensor(1, H), gg = be.tensor(1, F), up = be.tensor(1, F), logits = be.tensor(1, cfg.vocabSize);
  be.upload(x, Float32Array.from({ length: H }, (_, i) => Math.cos(i)));
  be.upload(a, Float32Array.from({ length: Q }, (_, i) => Math.cos(i * 3)));
  // a download flushes the held matmuls: one round per flush, as the forward pass's next op does
  const flush = () => (be as unknown as { flush(): void }).flush();
  const step = (withHead: boolean) => {
    for (const l of layers) {
      be.matmul(q, x, l.q); be.matmul(k, x, l.k); be.matmul(v, x, l.v); flush();
      be.matmul(o, a, l.o); flush();
      be.matmulGeglu(gg, x, l.g, l.u, up); flush();
      be.matmul(o, gg, l.d); flush();
    }
    if (withHead) { be.matmul(logits, x, head); flush(); }
  };
  const layerBytes = cfg.numLayers * ((Q + 2 * KV + 2 * F) * H + H * (Q + F)) / 32 * 34;
  const headBytes = cfg.vocabSize * H / 32 * 34;
  console.log(`\ngemma-3-${size} shapes, Q8_0 matmul rounds only, ${be.info.threads} thread(s); load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const withHead of [true, false, true, false]) {
    let best = Infinity;
    for (let r = 0; r < 20; r++) { const t0 = performance.now(); step(withHead); best = Math.min(best, performance.now() - t0); }
    const bytes = layerBytes + (withHead ? headBytes : 0);
    console.log(`  ${withHead ? 'layers + head' : 'layers only  '} best ${best.toFixed(2)} ms: ${(bytes / 1e6).toFixed(0)} MB at ${(bytes / best / 1e6).toFixed(1)} GB/s`);
  }
  console.log(`  read-bandwidth probe: ${be.measureReadBandwidth(512, 5).toFixed(1)} GB/s`);
  be.dispose();
}

for (const size of models) await (synthetic ? syntheticStep(size) : realSteps(size));
process.exit(0);
