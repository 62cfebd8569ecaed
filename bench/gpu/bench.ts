/**
 * WebGPU decode/prefill benchmark on real model shapes (Gemma 3 270M and 1B) with random
 * Q8_0 / Q4_0 weights built directly in memory (speed depends on shapes and formats only,
 * so no checkpoint is needed and nothing is downloaded).
 *
 * Prints, per model and format: prefill tokens/s (one prompt chunk, time to first token),
 * greedy decode tokens/s (argmax on the GPU, 4 bytes read back per token), the bytes a
 * decode step must read (every weight matrix once + the KV cache), the bandwidth that
 * implies, and that as a fraction of the GPU's memory-bandwidth roofline: measured with a
 * large buffer copy, and the card's nominal figure when the adapter name is known.
 * With timestamp queries: GPU time per kernel class for one decode step.
 *
 *   npx tsx bench/gpu/bench.ts [--models 270m,1b] [--quants q8_0,q4_0] [--prompt 512]
 *        [--gen 128] [--icd swiftshader|lavapipe|path] [--json out.json] [--budget-s 420]
 *        [--kv-cache f32|f16]  (the KV cache type; default: f16 with shader-f16, else f32)
 * (bench/gpu/gpu-bench.sh packs this for a machine without npm and runs it there.)
 */
import { writeFileSync } from 'node:fs';
import { type Backend, matmulGegluPlain, matmulQkvPlain, type Weight } from '../../src/kernels/backend.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import { DISPATCHES_PER_SUBMIT } from '../../src/kernels/webgpu/recorder.js';
import { getCodec } from '../../src/quant/index.js';
import { nodeGpu, releaseNodeGpu } from '../../src/kernels/webgpu/node-gpu.js';
import { type GemmaConfig, getPreset } from '../../src/model/config.js';
import { GemmaModel } from '../../src/model/model.js';
import { assembleWeights, type ModelWeights, tensorSpecs } from '../../src/model/weights.js';
import { byteSize, type DType } from '../../src/tensor/dtype.js';
import { f32ToF16 } from '../../src/tensor/half.js';
import { fillNormal, mulberry32 } from '../../src/util/rng.js';

const MODELS: Record<string, () => GemmaConfig> = {
  '270m': () => getPreset('gemma-3-270m'),
  '1b': () => getPreset('gemma-3-1b'),
  '4b': () => getPreset('gemma-3-4b'),
  '2b': () => getPreset('gemma-2-2b'),
  // CPU-driver smoke test of this script: real structure, small sizes
  tiny: () => ({ ...getPreset('gemma-3-270m'), vocabSize: 4096, hiddenSize: 256, intermediateSize: 512, numLayers: 4, numHeads: 4, numKvHeads: 1, headDim: 64, slidingWindow: 64, layerTypes: ['sliding', 'sliding', 'sliding', 'full'], queryPreAttnScalar: 64 }),
};

/** nominal memory bandwidth (bytes/s) by adapter-name fragment */
const NOMINAL: [RegExp, number, string][] = [
  [/H200/i, 4.8e12, 'H200 HBM3e'],
  [/H100.*PCIe/i, 2.0e12, 'H100 PCIe HBM2e'],
  [/H100/i, 3.35e12, 'H100 SXM HBM3'],
  [/A100.*80/i, 2.039e12, 'A100 80GB'],
  [/A100/i, 1.555e12, 'A100 40GB'],
  [/L40S/i, 0.864e12, 'L40S'],
  [/L4\b/i, 0.3e12, 'L4'],
  [/RTX 4090/i, 1.008e12, 'RTX 4090'],
];

function args(): Map<string, string> {
  const m = new Map<string, string>();
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) if (a[i]!.startsWith('--')) m.set(a[i]!.slice(2), a[i + 1]?.startsWith('--') || a[i + 1] === undefined ? 'true' : a[++i]!);
  return m;
}

/** xorshift32 filler: random bytes fast (a 1B model is ~1 GB of blocks) */
function fillRandom(u8: Uint8Array, seed: number): void {
  const n = u8.byteLength >> 2;
  const u32 = new Uint32Array(u8.buffer, u8.byteOffset, n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; u32[i] = x; }
  for (let i = n * 4; i < u8.byteLength; i++) u8[i] = i * 151;
}

/** random blocks of a ggml format with sane f16 scales (|w| ~ 0.03) */
function randomBlocks(dtype: 'q8_0' | 'q4_0', rows: number, cols: number, seed: number): Uint8Array {
  const bytes = byteSize(dtype, [rows, cols])!;
  const u8 = new Uint8Array(bytes);
  fillRandom(u8, seed);
  const [bb, d] = dtype === 'q8_0' ? [34, 0.03 / 127] : [18, 0.03 / 8];
  const h = f32ToF16(d);
  for (let o = 0; o < bytes; o += bb) { u8[o] = h & 0xff; u8[o + 1] = h >> 8; }
  return u8;
}

function randomWeights(cfg: GemmaConfig, dtype: 'q8_0' | 'q4_0', be: Backend): ModelWeights {
  const specs = tensorSpecs(cfg);
  const up = specs.map((s, i) => {
    if (s.isNorm) {
      const v = new Float32Array(s.shape[0]!).fill(1);
      return be.uploadWeight({ name: s.gguf, dtype: 'f32', shape: [...s.shape], data: new Uint8Array(v.buffer) });
    }
    const [r, c] = s.shape as [number, number];
    return be.uploadWeight({ name: s.gguf, dtype, shape: [r, c], data: randomBlocks(dtype, r, c, 1 + i) });
  });
  return assembleWeights(cfg, specs, up);
}

/** bytes a decode step at position `pos` reads: all matrices once + K and V of attended positions */
function decodeBytes(cfg: GemmaConfig, dtype: DType, pos: number, kvF16: boolean): number {
  let n = 0;
  for (const s of tensorSpecs(cfg)) if (!s.isNorm) n += byteSize(dtype, s.shape)!;
  const kvRow = cfg.numKvHeads * cfg.headDim * (kvF16 ? 2 : 4) * 2;
  for (const t of cfg.layerTypes) n += kvRow * Math.min(pos + 1, t === 'sliding' && cfg.slidingWindow ? cfg.slidingWindow : pos + 1);
  return n;
}

/** device copy bandwidth, bytes/s counting read + write */
async function copyBandwidth(device: GPUDevice, mib: number): Promise<number> {
  const size = mib << 20;
  const a = device.createBuffer({ size, usage: 0x4 | 0x8 }), b = device.createBuffer({ size, usage: 0x4 | 0x8 });
  const once = async (reps: number) => {
    const enc = device.createCommandEncoder();
    for (let i = 0; i < reps; i++) enc.copyBufferToBuffer(i % 2 ? b : a, 0, i % 2 ? a : b, 0, size);
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await once(2);
  const t1 = await once(2), t10 = await once(12);
  a.destroy(); b.destroy();
  // the difference removes the submit/wait overhead
  return (2 * size * 10) / ((t10 - t1) / 1000);
}

/** submit granularities the decode timing compares (Infinity: one submit per decode step) */
const SUBMIT_EVERY = [Infinity, 96, 48, 24];

interface Row {
  model: string; quant: string; promptTokens: number; genTokens: number;
  prefillTokPerS: number; decodeTokPerS: number; decodeMsPerToken: number; bytesPerToken: number;
  decodeGBps: number; fracOfMeasured: number; fracOfNominal: number | null; prefillGflops: number;
  kernelMsPerStep: Record<string, number>; dispatchesPerStep: number;
  /** host ms recording one decode step (forward pass JS + command encoding) */
  encodeMsPerStep: number;
  /** decode ms per token by dispatches per submit ('Infinity' = one submit per step) */
  decodeMsBySubmit: Record<string, number>;
}

function randn(n: number, seed: number, std = 1): Float32Array {
  return fillNormal(new Float32Array(n), mulberry32(seed), std);
}

/** a [rows, k] weight of normal values quantized to dtype, uploaded to both backends */
function weightPair(be: Backend, ref: Backend, dtype: DType, rows: number, k: number, seed: number): readonly [Weight, Weight] {
  const c = getCodec(dtype);
  const v = randn(rows * k, seed, 0.5), data = new Uint8Array((rows * k / c.blockSize) * c.blockBytes);
  for (let r = 0; r < rows; r++) c.quantizeRow(v, r * k, k, data, (r * k / c.blockSize) * c.blockBytes);
  return [be.uploadWeight({ name: 'w', dtype, shape: [rows, k], data: data.slice() }), ref.uploadWeight({ name: 'w', dtype, shape: [rows, k], data })];
}

/**
 * The kernels a real GPU takes other paths through than the CI drivers (matvec_blocks with 16
 * or 32 lanes per row, subgroups of 32; attention splits over hundreds of keys) against the
 * reference backend. Returns the largest relative error per case.
 */
async function selfCheck(be: WebGpuBackend): Promise<{ name: string; err: number }[]> {
  const ref = new ReferenceBackend();
  const rel = (a: Float32Array, b: Float32Array) => {
    let m = 0, s = 1;
    for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]!));
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
    return m / s;
  };
  const res: { name: string; err: number }[] = [];
  for (const dtype of ['q8_0', 'q4_0', 'q4_k', 'q6_k', 'bf16'] as const) {
    for (const [m, k0] of [[50, 64], [45, 128], [40, 256], [301, 640], [130, 2048], [70, 6912]] as const) {
      const k = dtype.endsWith('_k') ? Math.ceil(k0 / 256) * 256 : k0;
      const [wg, wr] = weightPair(be, ref, dtype, m, k, m + k);
      for (const rows of [1, 2, 4]) {
        const xv = randn(rows * k, 7 + rows);
        const xg = be.tensor(rows, k), xr = ref.tensor(rows, k), og = be.tensor(rows, m), or = ref.tensor(rows, m);
        be.upload(xg, xv); ref.upload(xr, xv);
        be.matmul(og, xg, wg); ref.matmul(or, xr, wr);
        res.push({ name: `matvec ${dtype} [${rows}x${k}]x[${m}x${k}]^T`, err: rel(await be.download(og), await ref.download(or)) });
        be.freeTensor(xg); be.freeTensor(og);
      }
      be.freeWeight(wg);
    }
  }
  // q/k/v and gate/up + GeGLU in one dispatch (matvec_multi) against separate products
  for (const dtype of ['q8_0', 'q4_0', 'q4_k', 'bf16'] as const) {
    for (const [m, kv, k] of [[1024, 256, 2304], [24, 8, 256]] as const) {
      const mk = (rows: number, seed: number) => weightPair(be, ref, dtype, rows, k, seed);
      const [wq, wk, wv, wg, wu] = [mk(m, 1), mk(kv, 2), mk(kv, 3), mk(m, 4), mk(m, 5)];
      const xv = randn(k, 6);
      const xg = be.tensor(1, k), xr = ref.tensor(1, k);
      be.upload(xg, xv); ref.upload(xr, xv);
      const T = (cols: number) => [be.tensor(1, cols), ref.tensor(1, cols)] as const;
      const [q, kk, v, g, u] = [T(m), T(kv), T(kv), T(m), T(m)];
      be.matmulQkv(q[0], kk[0], v[0], xg, wq[0], wk[0], wv[0]);
      matmulQkvPlain(ref, q[1], kk[1], v[1], xr, wq[1], wk[1], wv[1]);
      be.matmulGeglu(g[0], xg, wg[0], wu[0], u[0]);
      matmulGegluPlain(ref, g[1], xr, wg[1], wu[1], u[1]);
      let err = 0;
      for (const t of [q, kk, v, g]) err = Math.max(err, rel(await be.download(t[0]), await ref.download(t[1])));
      res.push({ name: `matvec_multi ${dtype} q/k/v ${m}/${kv}/${kv} + gate/up x ${k}`, err });
      for (const w of [wq, wk, wv, wg, wu]) be.freeWeight(w[0]);
    }
  }
  for (const c of [{ H: 4, G: 1, window: 512, softcap: null, n: 700 }, { H: 8, G: 4, window: null, softcap: 50, n: 300 }]) {
    const D = 256, kvDim = c.G * D;
    const cg = be.createKvLayer(1024, kvDim), cr = ref.createKvLayer(1024, kvDim);
    const kv = [randn(c.n * kvDim, 1), randn(c.n * kvDim, 2)];
    const kg = be.tensor(c.n, kvDim), vg = be.tensor(c.n, kvDim), kr = ref.tensor(c.n, kvDim), vr = ref.tensor(c.n, kvDim);
    be.upload(kg, kv[0]!); be.upload(vg, kv[1]!); ref.upload(kr, kv[0]!); ref.upload(vr, kv[1]!);
    be.kvStore(cg, kg, vg, 0); ref.kvStore(cr, kr, vr, 0);
    const qv = randn(c.H * D, 3, 0.3);
    const qg = be.tensor(1, c.H * D), qr = ref.tensor(1, c.H * D), og = be.tensor(1, c.H * D), or = ref.tensor(1, c.H * D);
    be.upload(qg, qv); ref.upload(qr, qv);
    const p = { numHeads: c.H, numKvHeads: c.G, headDim: D, scale: 1 / 16, softcap: c.softcap, window: c.window, startPos: c.n - 1 };
    be.attention(og, qg, cg, p); ref.attention(or, qr, cr, p);
    res.push({ name: `attention H${c.H} G${c.G} keys ${c.n} window ${c.window} softcap ${c.softcap}`, err: rel(await be.download(og), await ref.download(or)) });
    be.freeKvLayer(cg);
  }
  return res;
}

/** one weight matrix alone: `reps` matrix-vector products in one submit -> kernel bytes/s */
async function matvecBandwidth(be: WebGpuBackend, dtype: 'q8_0' | 'q4_0', rows: number, cols: number): Promise<number> {
  const w = be.uploadWeight({ name: 'mv', dtype, shape: [rows, cols], data: randomBlocks(dtype, rows, cols, 7) });
  const x = be.tensor(1, cols), y = be.tensor(1, rows);
  be.upload(x, new Float32Array(cols).fill(0.5));
  const run = async (reps: number) => {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) be.matmul(y, x, w);
    await be.download(y);
    return performance.now() - t0;
  };
  await run(4);
  let best = Infinity;
  for (let r = 0; r < 3; r++) best = Math.min(best, (await run(104)) - (await run(4)));
  be.freeTensor(x); be.freeTensor(y); be.freeWeight(w);
  return (byteSize(dtype, [rows, cols])! * 100) / (best / 1000);
}

async function main(): Promise<void> {
  const a = args();
  const t00 = performance.now();
  const budgetMs = Number(a.get('budget-s') ?? 420) * 1000;
  const models = (a.get('models') ?? '270m,1b').split(',');
  const quants = (a.get('quants') ?? 'q8_0,q4_0').split(',') as ('q8_0' | 'q4_0')[];
  const P = Number(a.get('prompt') ?? 512), G = Number(a.get('gen') ?? 128);
  const gpu = nodeGpu({ icd: a.get('icd') });
  const kv = a.get('kv-cache');
  if (kv !== undefined && kv !== 'f32' && kv !== 'f16') throw new Error(`--kv-cache f32|f16, got ${kv}`);
  const be = await WebGpuBackend.create({ gpu, profile: true, ...(kv ? { kvCache: kv } : {}) });
  const info = be.info;
  const name = `${info.adapter.description || info.adapter.device} (${info.adapter.vendor} ${info.adapter.architecture})`;
  console.log(`adapter: ${name}; f16 ${info.f16}, KV cache ${info.kvCache}, subgroups ${info.subgroups} (${info.subgroupSize}), timestamps ${info.timestamps}, binding ${(info.maxBindingBytes / 2 ** 20).toFixed(0)} MiB`);
  console.log(`adapter features: ${info.adapterFeatures.join(' ')}`);
  const checks = await selfCheck(be);
  const bad = checks.filter((c) => !(c.err < (info.f16 ? 5e-3 : 1e-4)));
  console.log(`self-check vs the reference backend: ${checks.length - bad.length}/${checks.length} ok, worst ${Math.max(...checks.map((c) => c.err)).toExponential(1)}${bad.length ? `; FAILED: ${bad.map((c) => `${c.name} ${c.err.toExponential(1)}`).join('; ')}` : ''}`);
  const measured = await copyBandwidth(be.device, Number(a.get('copy-mib') ?? 1024));
  const nominalHit = NOMINAL.find(([re]) => re.test(name) || re.test(process.env.GPU_NAME ?? ''));
  console.log(`memory bandwidth: copy ${(measured / 1e9).toFixed(0)} GB/s (read+write)${nominalHit ? `; nominal ${(nominalHit[1] / 1e9).toFixed(0)} GB/s (${nominalHit[2]})` : ''}`);
  const micro: { dtype: string; rows: number; cols: number; GBps: number }[] = [];
  be.setProfiling(false);
  for (const q of a.get('micro') === '0' ? [] : quants) {
    for (const [r, c] of [[6912, 1152], [10240, 2560], [262144, 1152]] as const) {
      const bw = await matvecBandwidth(be, q, r, c);
      micro.push({ dtype: q, rows: r, cols: c, GBps: bw / 1e9 });
      console.log(`matvec alone ${q} [${r} x ${c}]: ${(bw / 1e9).toFixed(1)} GB/s${nominalHit ? ` = ${((100 * bw) / nominalHit[1]).toFixed(1)}% of nominal` : ''}`);
    }
  }
  const rows: Row[] = [];
  for (const mname of models) {
    for (const q of quants) {
      if (performance.now() - t00 > budgetMs) { console.log(`(time budget reached: skipping ${mname} ${q})`); continue; }
      const cfg = MODELS[mname]!();
      const t0 = performance.now();
      const w = randomWeights(cfg, q, be);
      const model = new GemmaModel(cfg, be, w, { contextLength: P + G + 8, prefillChunk: P });
      const prompt = Array.from({ length: P }, (_, i) => (i === 0 ? 2 : 10 + ((i * 7919) % (cfg.vocabSize - 10))));
      // warm-up: pipelines, pools, bind groups
      be.setProfiling(false);
      let c = model.newCache();
      let id = await model.nextGreedy(prompt, c);
      for (let i = 0; i < 4; i++) id = await model.nextGreedy([id], c);
      c.dispose();
      const loadS = (performance.now() - t0) / 1000;
      // timed: best of 2, for each submit granularity (one submit per step, or every n dispatches)
      let ttft = Infinity;
      const decBy: Record<string, number> = {};
      for (const per of SUBMIT_EVERY) {
        be.setDispatchesPerSubmit(per);
        let dec = Infinity;
        for (let r = 0; r < 2; r++) {
          c = model.newCache();
          const t1 = performance.now();
          id = await model.nextGreedy(prompt, c);
          const t2 = performance.now();
          for (let i = 0; i < G; i++) id = await model.nextGreedy([id], c);
          const t3 = performance.now();
          ttft = Math.min(ttft, t2 - t1);
          dec = Math.min(dec, t3 - t2);
          c.dispose();
        }
        decBy[String(per)] = dec / G;
      }
      be.setDispatchesPerSubmit(DISPATCHES_PER_SUBMIT);
      const dec = decBy[String(DISPATCHES_PER_SUBMIT)]! * G;
      // one profiled decode step (timestamps): GPU ms per kernel class
      c = model.newCache();
      await model.nextGreedy(prompt.slice(0, 64), c);
      for (let i = 0; i < 3; i++) id = await model.nextGreedy([id], c);
      be.resetProfile();
      const steps = 8;
      for (let i = 0; i < steps; i++) id = await model.nextGreedy([id], c);
      const encodeMsPerStep = be.encodeMs() / steps;
      be.setProfiling(true);
      be.resetProfile();
      await model.nextGreedy([id], c);
      const kernelMs = be.profile(), counts = be.dispatchCounts();
      be.setProfiling(false);
      c.dispose();
      const decodeTokPerS = G / (dec / 1000);
      const bytes = decodeBytes(cfg, q, P + G / 2, info.kvCache === 'f16');
      const params = tensorSpecs(cfg).filter((s) => !s.isNorm).reduce((n, s) => n + s.shape[0]! * s.shape[1]!, 0);
      const row: Row = {
        model: mname, quant: q, promptTokens: P, genTokens: G,
        prefillTokPerS: P / (ttft / 1000), decodeTokPerS, decodeMsPerToken: dec / G, bytesPerToken: bytes,
        decodeGBps: (bytes * decodeTokPerS) / 1e9,
        // a decode step reads its bytes once; the copy figure counts read + write
        fracOfMeasured: (bytes * decodeTokPerS) / measured,
        fracOfNominal: nominalHit ? (bytes * decodeTokPerS) / nominalHit[1] : null,
        prefillGflops: (2 * params * P) / (ttft / 1000) / 1e9,
        kernelMsPerStep: kernelMs, dispatchesPerStep: Object.values(counts).reduce((x, y) => x + y, 0),
        encodeMsPerStep, decodeMsBySubmit: decBy,
      };
      rows.push(row);
      const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
      console.log(`${mname} ${q}: prefill ${P} tok ${row.prefillTokPerS.toFixed(0)} tok/s (${row.prefillGflops.toFixed(0)} GFLOP/s) | decode ${row.decodeTokPerS.toFixed(1)} tok/s, ${row.decodeMsPerToken.toFixed(2)} ms/tok, ${(bytes / 1e6).toFixed(0)} MB/tok -> ${row.decodeGBps.toFixed(0)} GB/s = ${pct(row.fracOfMeasured)} of copy bw, ${pct(row.fracOfNominal)} of nominal | load+warm-up ${loadS.toFixed(1)} s`);
      const top = Object.entries(kernelMs).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
      console.log(`  decode ms/token by dispatches per submit: ${Object.entries(decBy).map(([k, v]) => `${k === 'Infinity' ? 'one per step' : k} ${v.toFixed(3)}`).join(', ')}`);
      const gpuSum = Object.values(kernelMs).reduce((x, y) => x + y, 0);
      console.log(`  one decode step: wall ${row.decodeMsPerToken.toFixed(3)} ms, host recording ${encodeMsPerStep.toFixed(3)} ms, GPU kernels ${gpuSum.toFixed(3)} ms (${row.dispatchesPerStep} dispatches)${top ? `: ${top}` : ''}`);
      // free this model's weights; the backend (and its compiled kernels) stays for the next
      for (const wt of [w.embed, w.finalNorm, ...w.layers.flatMap((l) => Object.values(l))]) be.freeWeight(wt);
    }
  }
  if (a.get('json')) writeFileSync(a.get('json')!, JSON.stringify({ adapter: name, info, copyBandwidth: measured, nominal: nominalHit?.[1] ?? null, checks, micro, rows }, null, 2));
  be.dispose();
  releaseNodeGpu();
  console.log(`total ${((performance.now() - t00) / 1000).toFixed(0)} s`);
}

await main();
process.exit(0);
