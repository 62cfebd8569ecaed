/**
 * The WASM SIMD backend: kernels in AssemblyScript (assembly/), one WebAssembly.Memory
 * holding weights, activations and KV caches, and a pool of worker threads on that memory.
 *
 * Ops run synchronously when called (download/argmax only wrap the result in a promise),
 * except matmuls: consecutive matmuls reading the same input (q/k/v, gate/up) are held and
 * run as one job, so the input is quantized once and the threads meet at one barrier
 * instead of three. Any other op, download or free runs the held matmuls first.
 * matmulQkv is that (three held matmuls); matmulGeglu in prefill holds gate and up as one
 * pair whose chunks also apply GeGLU to their own rows (each activation tile serves both
 * products); in decode gate and up are two matrices of one round and the GeGLU a round of its
 * own (faster there: below).
 *
 * Numerics (what the tests hold it to):
 * - float weights (f32/f16/bf16): f32 products and sums of the exact stored weights;
 * - quantized weights: activations quantized to int8 per 32 (Q8_0/Q4_x/Q5_x weights) or per
 *   256 (K-quants), exact integer dots per block, like llama.cpp's vec_dot types; the
 *   activation rounding error is at most amax/254 per element (quantize.ts);
 * - attention, norms, RoPE, GeGLU in f32 with ~2 ulp exp/tanh (assembly/common.ts).
 */
import { GemmaError } from '../../errors.js';
import { getCodec } from '../../quant/index.js';
import { byteSize, rowBytes as dtypeRowBytes } from '../../tensor/dtype.js';
import {
  type AttentionParams, type Backend, type KvLayer, type RopeParams, type Tensor, type Weight, type WeightData, expectShape,
  matmulGegluPlain, matmulQkvPlain,
} from '../backend.js';
import { WasmHeap, RESERVED, PAGE, MAX_PAGES, type AllocKind } from './heap.js';
import { CTRL_PTR, JOB, prefillScratchBytes, JOB_BYTES, JOB_PTR, LOCAL_GEN, MATMUL_WORDS, MAX_FUSED, OP_ATTN, OP_MATMUL, OP_PROBE, OP_QUANT, OP_TOUCH, OP_GEGLU, publishRanges, QUANT_WORDS, rangeWords } from './jobs.js';
import { type ActScheme, groupBytes, type Layout, layoutOf, PANEL_BLOCK_GROUPS, packedBytes, panelSlice, panelsOf, repackPlan, unpackRow } from './layout.js';
import { type DotAddChoice, type KernelBuild, type RelaxedChoice, loadKernels } from './loader.js';
import { ThreadPool } from './pool.js';

export interface WasmBackendOptions {
  /** threads including the calling one (default: hardware concurrency, at most 8) */
  threads?: number;
  /** use the relaxed-SIMD build: 'auto' (default) when supported and self-tested */
  relaxed?: RelaxedChoice;
  /**
   * the relaxed build's dot-add variant (integer dots through relaxed dot-add): 'auto' (default)
   * when it passes the self-test and a start-up probe finds it faster (engines that lower it to
   * one AVX-VNNI instruction); true forces it where it passes the self-test, false never uses it
   */
  dotAdd?: DotAddChoice;
  /** use a shared memory (default: when SharedArrayBuffer exists); false forces one thread */
  shared?: boolean;
  /** workers: spin time after a job before they sleep, ms (default 2) */
  spinMs?: number;
  /** calling thread: spin time waiting for workers before it sleeps, ms (default 0.2) */
  mainSpinMs?: number;
  /**
   * store matrices of long rows as column panels (layout.ts panelsOf; default true). false
   * keeps every matrix whole: for comparisons (bench/), results differ in float rounding only.
   * Applies to weights uploaded afterwards (`setColumnPanels`).
   */
  columnPanels?: boolean;
  /**
   * element type of the KV cache layers created from now on (`setKvCache`): 'f32' (default:
   * the reference backend's arithmetic) or 'f16' (keys and values rounded to f16 when stored,
   * to nearest even, as llama.cpp's default cache: half the memory and half the attention's
   * reads; logits move by about 1e-3)
   */
  kvCache?: 'f32' | 'f16';
}

/** what the backend ended up using */
export interface WasmBackendInfo {
  threads: number;
  relaxed: boolean;
  /** the dot-add variant of the relaxed build is in use */
  dotAdd: boolean;
  /** the start-up probe's speed of the dot-add build over the plain relaxed build, when probed */
  dotAddSpeedup?: number;
  shared: boolean;
  /** reasons for fallbacks (single thread, no relaxed SIMD), empty if none */
  notes: string[];
}

interface Exports {
  run(job: number, gen: number, ith: number): void;
  rmsNorm(out: number, x: number, w: number, groups: number, n: number, eps: number): void;
  ropeApply(x: number, rows: number, heads: number, D: number, cs: number): void;
  geglu(out: number, gate: number, up: number, n: number): void;
  add(out: number, a: number, b: number, n: number): void;
  softcap(x: number, n: number, cap: number): void;
  scale(x: number, n: number, s: number): void;
  zero(x: number, n: number): void;
  argmax(x: number, n: number): number;
  attnCombine(out: number, part: number, H: number, G: number, D: number, ns: number): void;
  toF16(dst: number, src: number, n: number): void;
  repackX4(src: number, srcStride: number, srcOff: number, rows: number, dst: number, dstStride: number, dstOff: number, units: number, unit: number, fields: number): void;
  sliceQh(dst: number, groups: number, groupStride: number, units: number, unit4: number, qhOff: number): void;
  offsetQ8_0(dst: number, groups: number, groupStride: number, units: number): void;
  q8_0LevelOffset(): number;
  q8aRowBytes(k: number): number;
  q8kRowBytes(k: number): number;
}

export class WasmTensor implements Tensor {
  constructor(readonly rows: number, readonly cols: number, readonly ptr: number) {}
}

export class WasmWeight implements Weight {
  constructor(
    readonly name: string, readonly dtype: Weight['dtype'], readonly shape: readonly number[], readonly ptr: number,
    /** matrices: their x4 layout; vectors (norms) are plain f32 */
    readonly layout: Layout | null,
    /** matrices: column panels (layout.ts panelsOf), each [rows, cols / panels] in the x4 layout */
    readonly panels = 1,
  ) {}
  get rows(): number { return this.shape.length === 1 ? 1 : this.shape[0]!; }
  get cols(): number { return this.shape[this.shape.length - 1]!; }
}

export class WasmKvLayer implements KvLayer {
  constructor(
    readonly capacity: number, readonly kvDim: number, readonly k: number, readonly v: number,
    /** rows of f16 (WasmBackendOptions.kvCache), else f32 */
    readonly f16 = false,
  ) {}
}

const T = (t: Tensor) => t as WasmTensor;
const W = (w: Weight) => w as WasmWeight;
/** the key of the activation form a weight reads (format / column panels; WasmBackend.flush) */
function actKey(w: WasmWeight): string { return `${w.layout!.act}/${w.panels}`; }

async function defaultThreads(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  let n = nav?.hardwareConcurrency;
  if (n === undefined && (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node) {
    n = (await import('node:os')).availableParallelism();
  }
  return Math.max(1, Math.min(8, n ?? 1));
}

/** attention jobs smaller than this (query rows x heads x keys x headDim) run on one thread:
 *  a pool round costs about a microsecond while the workers spin between a step's rounds, so
 *  splitting pays from a few µs of work (decode of 4 heads of 256 over ~32+ keys) */
const ATTN_PARALLEL_MACS = 1 << 15;

/** GeGLUs of at least this many elements run on all threads (~2.4 ns an element on one) */
const GEGLU_PARALLEL = 2048;

/** keys per work item of a decode attention (assembly/attention.ts): a range's scores stay in
 *  L1, and a context of 65+ keys already spreads over two threads (one KV head, as Gemma 3
 *  270M/1B have, was one item up to 256 keys: 28-30 µs a layer on one thread while the other
 *  waited; 64-key items: decode 1.03-1.08x (270M) and 1.01-1.03x (1B) at 2 threads and a
 *  128-384 token context, 1.0x at 1 thread; 32-key items gained less) */
const ATTN_SPLIT = 64;

/** cos/sin tables kept for RoPE (local and global bases, for q and k alike) */
const ROPE_TABLES = 4;

/** rows per staging chunk when repacking a matrix at upload (a multiple of 4) */
const STAGE_BYTES = 8 << 20;
/** weights from this size up have their pages touched by all threads before the repacking */
const TOUCH_MIN_BYTES = 1 << 20;

export class WasmBackend implements Backend {
  readonly name = 'wasm';
  /** weights are repacked into wasm memory (Backend.copiesWeightData) */
  readonly copiesWeightData = true;
  private readonly heap: WasmHeap;
  private readonly ex: Exports;
  /** held matmuls; with `up`, a GeGLU pair: out = gelu_tanh(x w^T) * (x up.w^T), up.out = x up.w^T */
  private pending: { out: WasmTensor; x: WasmTensor; w: WasmWeight; up?: { out: WasmTensor; w: WasmWeight } }[] = [];
  private scratch = new Map<string, { ptr: number; bytes: number }>();
  /** cos/sin tables of the last few (rows, headDim, positions, theta, scaling): the forward
   *  pass alternates local and global RoPE bases across layers, so one entry would be
   *  recomputed at every switch (hundreds of Math.cos/sin per decode step) */
  private ropeTables: { key: string; slot: string }[] = [];
  private disposed = false;
  private columnPanels = true;
  private kvF16 = false;
  /** most bytes of column-panel partial sums one matmul job may use (see flush) */
  private panelPartBytes = 64 << 20;
  /** keys per work item of a decode attention (ATTN_SPLIT; settable for benchmarks: the result
   *  depends on it, not on the thread count) */
  attnSplitKeys = ATTN_SPLIT;
  private jobView: Int32Array;
  private jobViewF: Float32Array;
  private rangeView: BigInt64Array;

  private constructor(
    readonly info: WasmBackendInfo,
    private readonly memory: WebAssembly.Memory,
    instance: WebAssembly.Instance,
    private readonly pool: ThreadPool | null,
  ) {
    this.heap = new WasmHeap(memory);
    this.ex = instance.exports as unknown as Exports;
    this.jobView = new Int32Array(memory.buffer, JOB_PTR, JOB_BYTES / 4);
    this.jobViewF = new Float32Array(memory.buffer, JOB_PTR, JOB_BYTES / 4);
    this.rangeView = rangeWords(memory.buffer);
  }

  /** the job descriptor area as i32 (a non-shared buffer detaches when memory grows: re-view) */
  private jobI32(): Int32Array {
    if (this.jobView.byteLength === 0) {
      this.jobView = new Int32Array(this.memory.buffer, JOB_PTR, JOB_BYTES / 4);
      this.jobViewF = new Float32Array(this.memory.buffer, JOB_PTR, JOB_BYTES / 4);
      this.rangeView = rangeWords(this.memory.buffer);
    }
    return this.jobView;
  }

  static async create(o: WasmBackendOptions = {}): Promise<WasmBackend> {
    const notes: string[] = [];
    let threads = Math.floor(o.threads ?? await defaultThreads());
    if (!(threads >= 1 && threads <= 256)) throw new GemmaError('BAD_ARGUMENT', `threads must be 1..256, got ${o.threads}`);
    const sabOk = typeof SharedArrayBuffer !== 'undefined' &&
      (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
    let shared = o.shared ?? sabOk;
    if (shared && !sabOk) throw new GemmaError('BACKEND', 'shared memory requested but SharedArrayBuffer is unavailable (the page must be cross-origin isolated)');
    if (!shared && threads > 1) {
      notes.push(sabOk ? 'single-threaded: shared memory disabled by option'
        : 'single-threaded: SharedArrayBuffer is unavailable (serve the page cross-origin isolated: COOP/COEP headers)');
      threads = 1;
    }
    const build: KernelBuild = await loadKernels(o.relaxed ?? 'auto', shared, o.dotAdd ?? 'auto');
    if (build.note) notes.push(build.note);
    const memory = new WebAssembly.Memory({ initial: RESERVED / PAGE + 16, maximum: MAX_PAGES, shared } as WebAssembly.MemoryDescriptor);
    const instance = await WebAssembly.instantiate(build.module, { env: { memory } });
    const run = (instance.exports as unknown as Exports).run;
    const pool = threads > 1
      ? await ThreadPool.create(build.module, memory, CTRL_PTR, JOB_PTR, threads, run, { spinMs: o.spinMs ?? 2, mainSpinMs: o.mainSpinMs ?? 0.2, timeoutMs: 60_000 })
      : null;
    const be = new WasmBackend({ threads, relaxed: build.relaxed, dotAdd: build.dotAdd, dotAddSpeedup: build.dotAddSpeedup, shared, notes }, memory, instance, pool);
    be.setColumnPanels(o.columnPanels ?? true);
    be.setKvCache(o.kvCache ?? 'f32');
    return be;
  }

  /** column panels for the weights uploaded from now on (WasmBackendOptions.columnPanels) */
  setColumnPanels(on: boolean): void { this.columnPanels = on; }

  /** element type of the KV cache layers created from now on (WasmBackendOptions.kvCache) */
  setKvCache(type: 'f32' | 'f16'): void {
    if (type !== 'f32' && type !== 'f16') throw new GemmaError('BAD_ARGUMENT', `kvCache must be 'f32' or 'f16', got ${JSON.stringify(type)}`);
    this.kvF16 = type === 'f16';
  }

  // ------------------------------------------------------------------ memory

  uploadWeight(w: WeightData): Weight {
    this.alive();
    const need = byteSize(w.dtype, w.shape);
    if (need === undefined || need !== w.data.byteLength) {
      throw new GemmaError('BAD_TENSOR', `${w.dtype} [${w.shape}] needs ${need ?? '?'} bytes, got ${w.data.byteLength}`, { tensor: w.name });
    }
    if (w.shape.length === 1) {
      // vectors (norm multipliers) are kept as plain f32, whatever their storage type
      const n = w.shape[0]!;
      const f = new Float32Array(n);
      getCodec(w.dtype).dequantizeRow(w.data, 0, f, 0, n);
      const ptr = this.heap.alloc(n * 4, 'weight', w.name);
      this.heap.f32.set(f, ptr / 4);
      return new WasmWeight(w.name, w.dtype, [...w.shape], ptr, null);
    }
    if (w.shape.length !== 2) throw new GemmaError('BAD_SHAPE', `weights must be 1-D or 2-D, got [${w.shape}]`, { tensor: w.name });
    const [rows, k] = w.shape as [number, number];
    const layout = layoutOf(w.dtype, w.name);
    const panels = this.columnPanels ? panelsOf(layout, k) : 1;
    const bytes = packedBytes(layout, rows, k, panels);
    const ptr = this.heap.alloc(bytes, 'weight', w.name);
    try {
      this.touch(ptr, bytes);
      this.repack(layout, w.data, rows, k, panels, ptr);
    } catch (e) {
      this.heap.release(ptr);
      throw e;
    }
    return new WasmWeight(w.name, w.dtype, [...w.shape], ptr, layout, panels);
  }

  /**
   * Take the page faults of [ptr, ptr + bytes) on all threads at once (a zero byte stored in
   * every page of the new weight's range: the repacking then writes every byte the kernels
   * read). Fresh wasm memory costs a fault per 4 KiB page on first touch, 8-14 µs each in the
   * VMs we measured: most of a model's load time when one thread took them all during the
   * repacking. Reused memory costs one store a page.
   */
  private touch(ptr: number, bytes: number): void {
    if (!this.pool || bytes < TOUCH_MIN_BYTES) return;
    const j = this.jobI32(), a = JOB.ARGS;
    const pages = Math.ceil(bytes / 4096), per = Math.ceil(pages / 64); // at most 64 chunks
    j[a] = ptr; j[a + 1] = pages; j[a + 2] = per;
    this.runJob(OP_TOUCH, Math.ceil(pages / per), true);
  }

  /**
   * Copy rows through a staging buffer in wasm memory and repack them into x4 groups at dst,
   * column panel after column panel. The staging buffer is kept across uploads: its pages stay
   * mapped and warm.
   */
  private repack(l: Layout, data: Uint8Array, rows: number, k: number, panels: number, dst: number): void {
    const rb = dtypeRowBytes(l.dtype, k);
    const kp = k / panels, pb = dtypeRowBytes(l.dtype, kp), gb = 4 * pb;
    // rows at a time: whole row blocks of the panel layout (or whole groups without panels)
    const step = panels > 1 ? 4 * PANEL_BLOCK_GROUPS : 4;
    const chunkRows = Math.max(step, Math.floor(STAGE_BYTES / rb / step) * step);
    const stage = this.scratchBuf('stage', Math.min(chunkRows, Math.ceil(rows / 4) * 4) * rb);
    for (let r0 = 0; r0 < rows; r0 += chunkRows) {
      const n = Math.min(chunkRows, rows - r0);
      this.heap.write(stage, data.subarray(r0 * rb, (r0 + n) * rb));
      // without panels all n rows at once; with them, row block by row block
      for (let b = 0; b < n; b += panels > 1 ? step : n) {
        const bn = panels > 1 ? Math.min(step, n - b) : n, g = (r0 + b) / 4;
        for (let p = 0; p < panels; p++) {
          const d = dst + panelSlice(panels, gb, g, p);
          for (const c of repackPlan(l, kp)) this.ex.repackX4(stage + b * rb, rb, p * pb + c.srcOff, bn, d, gb, c.dstOff, c.units, c.unit, c.fields);
          if (l.qhOff !== undefined) this.ex.sliceQh(d, Math.ceil(bn / 4), gb, kp / l.unitElems, 4 * l.unitBytes, l.qhOff);
          if (l.dtype === 'q8_0') this.ex.offsetQ8_0(d, Math.ceil(bn / 4), gb, kp / l.unitElems); // a no-op outside the dot-add build
        }
      }
    }
  }

  freeWeight(w: Weight): void { this.flush(); this.heap.release(W(w).ptr); }

  tensor(rows: number, cols: number, uninitialized = false): Tensor {
    this.alive();
    if (!(Number.isInteger(rows) && rows >= 1 && Number.isInteger(cols) && cols >= 1)) throw new GemmaError('BAD_SHAPE', `tensor [${rows}, ${cols}]`);
    const ptr = this.heap.alloc(rows * cols * 4, 'tensor', `a [${rows}, ${cols}] activation`);
    // the forward pass's temporaries and logits are written whole before they are read: the
    // zero fill (1 MB per decode step for the logits alone) is skipped when asked to
    if (!uninitialized) this.ex.zero(ptr, rows * cols * 4);
    return new WasmTensor(rows, cols, ptr);
  }

  freeTensor(t: Tensor): void { this.flush(); this.heap.release(T(t).ptr); }

  upload(t: Tensor, data: Float32Array): void {
    this.flush();
    if (data.length !== t.rows * t.cols) throw new GemmaError('BAD_SHAPE', `upload of ${data.length} floats into [${t.rows}, ${t.cols}]`);
    this.heap.f32.set(data, T(t).ptr / 4);
  }

  async download(t: Tensor): Promise<Float32Array> {
    this.flush();
    const p = T(t).ptr / 4;
    return this.heap.f32.slice(p, p + t.rows * t.cols);
  }

  createKvLayer(capacity: number, kvDim: number): KvLayer {
    this.alive();
    const f16 = this.kvF16;
    const bytes = Math.ceil((capacity * kvDim * (f16 ? 2 : 4)) / 16) * 16;
    const what = `a KV cache layer (${capacity} x ${kvDim}, ${f16 ? 'f16' : "f32; kvCache: 'f16' would halve the cache"})`;
    const k = this.heap.alloc(bytes, 'kv', what);
    let v: number;
    try { v = this.heap.alloc(bytes, 'kv', what); } catch (e) { this.heap.release(k); throw e; }
    this.ex.zero(k, bytes);
    this.ex.zero(v, bytes);
    return new WasmKvLayer(capacity, kvDim, k, v, f16);
  }

  freeKvLayer(l: KvLayer): void {
    this.flush();
    const c = l as WasmKvLayer;
    this.heap.release(c.k);
    this.heap.release(c.v);
  }

  dispose(): void {
    if (this.disposed) return;
    try { this.flush(); } finally {
      this.disposed = true;
      this.pool?.dispose();
    }
  }

  /** bytes of wasm memory in use, by kind */
  memoryUse(): Record<AllocKind, number> & { total: number } {
    return { ...this.heap.inUse, total: this.heap.totalBytes };
  }

  /**
   * Read bandwidth of this machine as the backend sees it: all threads stream over a
   * `mib` MiB buffer (much larger than the caches) with 16-byte loads; best of `reps`, GB/s.
   */
  measureReadBandwidth(mib = 256, reps = 5): number {
    this.flush();
    const bytes = mib << 20;
    const buf = this.heap.alloc(bytes + 4096, 'scratch', 'bandwidth probe'); // + one i32 result per chunk
    try {
      const u8 = this.heap.u8;
      // commit every page, with contents of its own (not touch()'s zeros: pages a host could
      // merge would not stream from DRAM)
      for (let i = 0; i < bytes; i += 4096) u8[buf + i] = i >> 12;
      let best = 0;
      for (let r = 0; r < reps; r++) {
        const j = this.jobI32(), a = JOB.ARGS;
        const lines = bytes / 64, chunks = 64;
        j[a] = buf; j[a + 1] = bytes; j[a + 2] = buf + bytes; j[a + 3] = Math.ceil(lines / chunks);
        const t0 = performance.now();
        this.runJob(OP_PROBE, chunks, true);
        const s = (performance.now() - t0) / 1000;
        best = Math.max(best, bytes / s / 1e9);
      }
      return best;
    } finally {
      this.heap.release(buf);
    }
  }

  // ------------------------------------------------------------------ ops

  embed(out: Tensor, table: Weight, tokens: Int32Array, scale: number): void {
    this.flush();
    const tw = W(table);
    if (!tw.layout) throw new GemmaError('BAD_SHAPE', 'embed needs a 2-D table', { tensor: tw.name });
    const k = tw.cols;
    expectShape('embed out', out, tokens.length, k);
    const codec = getCodec(tw.dtype);
    const rb = dtypeRowBytes(tw.dtype, k);
    const rowBytes = new Uint8Array(rb);
    const vals = new Float32Array(k);
    const kp = k / tw.panels, pb = dtypeRowBytes(tw.dtype, kp), gb = 4 * pb;
    for (let r = 0; r < tokens.length; r++) {
      const id = tokens[r]!;
      if (!(id >= 0 && id < tw.rows)) throw new GemmaError('BAD_ARGUMENT', `token id ${id} outside the vocabulary (0..${tw.rows - 1})`);
      for (let p = 0; p < tw.panels; p++) {
        unpackRow(tw.layout, this.heap.u8, tw.ptr + panelSlice(tw.panels, gb, id >> 2, p), id & 3, kp, rowBytes.subarray(p * pb, (p + 1) * pb), this.ex.q8_0LevelOffset());
      }
      codec.dequantizeRow(rowBytes, 0, vals, 0, k);
      for (let c = 0; c < k; c++) vals[c] = Math.fround(vals[c]! * scale);
      this.heap.f32.set(vals, T(out).ptr / 4 + r * k);
    }
  }

  rmsNorm(out: Tensor, x: Tensor, w: Weight, eps: number): void {
    this.flush();
    const ww = W(w);
    const n = ww.shape[0]!;
    if (ww.shape.length !== 1 || x.cols % n !== 0) throw new GemmaError('BAD_SHAPE', `rmsNorm weight [${ww.shape}] does not divide ${x.cols} columns`, { tensor: ww.name });
    expectShape('rmsNorm out', out, x.rows, x.cols);
    this.ex.rmsNorm(T(out).ptr, T(x).ptr, ww.ptr, x.rows * (x.cols / n), n, eps);
  }

  matmul(out: Tensor, x: Tensor, w: Weight): void {
    this.alive();
    const ww = W(w);
    if (!ww.layout) throw new GemmaError('BAD_SHAPE', `matmul weight must be 2-D, got [${ww.shape}]`, { tensor: ww.name });
    expectShape('matmul x', x, x.rows, ww.cols);
    expectShape('matmul out', out, x.rows, ww.rows);
    if (out === x) throw new GemmaError('BAD_ARGUMENT', 'matmul output must not alias its input');
    this.hold(T(out), T(x), ww);
  }

  /** add a matmul (or GeGLU pair) on input x to the held job, running the held one first when
   *  its input differs, it is full, or one of the new outputs is already written by it */
  private hold(out: WasmTensor, x: WasmTensor, w: WasmWeight, up?: { out: WasmTensor; w: WasmWeight }): void {
    if (this.pending.length && (this.pending[0]!.x !== x || this.pending.length >= MAX_FUSED || this.writes(out) || (up && this.writes(up.out)))) this.flush();
    this.pending.push(up ? { out, x, w, up } : { out, x, w });
  }

  /** q/k/v: three matmuls on one input, which the backend already runs as one round */
  matmulQkv(q: Tensor, k: Tensor, v: Tensor, x: Tensor, wq: Weight, wk: Weight, wv: Weight): void {
    matmulQkvPlain(this, q, k, v, x, wq, wk, wv);
  }

  /**
   * out = gelu_tanh(x Wgate^T) * (x Wup^T), up = x Wup^T. Prefill: one pool round in which each
   * chunk computes the same rows of both products and then their GeGLU (the kernels and the
   * GeGLU are those of matmul + geglu, so the result is the same bit for bit; 1.03-1.04x the
   * separate ops at 128 rows). Decode: the two products as two matrices of one round (each
   * thread streams its own range; the pair's chunks alternate between the two matrices), then
   * the GeGLU on all threads: decode 1.01-1.03x the pair at 2 threads, 1.0x at 1 (in-process
   * A/B, Gemma 3 270M and 1B Q8_0). Weights of different kinds or shapes take the separate ops.
   */
  matmulGeglu(out: Tensor, x: Tensor, wGate: Weight, wUp: Weight, up: Tensor): void {
    this.alive();
    const g = W(wGate), u = W(wUp);
    if (!g.layout || !u.layout || g.layout.kind !== u.layout.kind || g.rows !== u.rows || g.cols !== u.cols) {
      matmulGegluPlain(this, out, x, wGate, wUp, up);
      return;
    }
    expectShape('matmulGeglu x', x, x.rows, g.cols);
    expectShape('matmulGeglu out', out, x.rows, g.rows);
    expectShape('matmulGeglu up', up, x.rows, g.rows);
    if (out === x || up === x || up === out) throw new GemmaError('BAD_ARGUMENT', 'matmulGeglu: out, up and x must be three different tensors');
    if (x.rows === 1) {
      matmulGegluPlain(this, out, x, wGate, wUp, up);
      return;
    }
    this.hold(T(out), T(x), g, { out: T(up), w: u });
  }

  /** whether a held matmul writes t */
  private writes(t: WasmTensor): boolean {
    for (const p of this.pending) if (p.out === t || p.up?.out === t) return true;
    return false;
  }

  /** run the held matmuls as one job: quantize the shared input once, then all products */
  private flush(): void {
    if (!this.pending.length) return;
    const list = this.pending;
    this.pending = [];
    const x = list[0]!.x;
    const k = x.cols, rows = x.rows;
    // the activation forms the held weights read: one per (format, column panels). A quantized
    // row of k columns in p panels is quantized as p rows of k / p (the same blocks; panel i of
    // the row is then the i-th of them); floats are read in place
    interface Act { ptr: number; rowStride: number; panelBytes: number; threadBytes: number }
    // (no closures here: this runs ~100 times a decode step, and tsx's keepNames makes each
    // closure creation a defineProperty call)
    const acts = new Map<string, Act>();
    // activations: one row (decode) is quantized by every thread into its own copy inside the
    // matmul job (no serial step, no cache lines pulled across cores); several rows (prefill)
    // once, by a parallel quantization job, into one shared buffer
    const own = rows === 1;
    const ownList: { scheme: number; ptr: number; threadBytes: number; kp: number; panels: number; stride: number }[] = [];
    for (const { w } of list) {
      const scheme: ActScheme = w.layout!.act, panels = w.panels, key = `${scheme}/${panels}`;
      if (acts.has(key)) continue;
      const kp = k / panels;
      if (scheme === 'f32') {
        acts.set(key, { ptr: x.ptr, rowStride: k * 4, panelBytes: kp * 4, threadBytes: 0 });
        continue;
      }
      const stride = Math.ceil((scheme === 'q8a' ? this.ex.q8aRowBytes(kp) : this.ex.q8kRowBytes(kp)) / 16) * 16;
      if (own) {
        const threadBytes = Math.ceil((panels * stride) / 64) * 64; // a cache line apart
        const ptr = this.scratchBuf(`${key}-own`, threadBytes * this.threads);
        acts.set(key, { ptr, rowStride: panels * stride, panelBytes: stride, threadBytes });
        ownList.push({ scheme: scheme === 'q8a' ? 0 : 1, ptr, threadBytes, kp, panels, stride });
        continue;
      }
      const n = rows * panels;
      const ptr = this.scratchBuf(key, n * stride);
      const j = this.jobI32(), a = JOB.ARGS;
      const par = this.threads > 1, per = par ? Math.ceil(n / (2 * this.threads)) : n;
      j[a] = scheme === 'q8a' ? 0 : 1; j[a + 1] = x.ptr; j[a + 2] = kp; j[a + 3] = ptr; j[a + 4] = stride; j[a + 5] = n; j[a + 6] = per;
      this.runJob(OP_QUANT, Math.ceil(n / per), par);
      acts.set(key, { ptr, rowStride: panels * stride, panelBytes: stride, threadBytes: 0 });
    }
    // per-thread scratch: prefill unpacks each group of weight rows there once per token tile,
    // next to the tile's activation rows packed four at a time (jobs.ts prefillScratchBytes)
    let wide = 0;
    if (rows >= 2) {
      for (const { w } of list) {
        const need = prefillScratchBytes(w.layout!.dtype, k / w.panels, rows, acts.get(actKey(w))!.rowStride);
        wide = Math.max(wide, Math.ceil(need / 64) * 64);
      }
    }
    const widePtr = wide ? this.scratchBuf('wide', wide * this.threads) : 0;
    // partial sums of column panels 1.. (then those of a GeGLU pair's second product): a plane
    // of rows x m floats each. Many activation rows against a tall matrix (logits at every
    // position) would make them as large as the output itself: the rows then go in slices, one
    // job each, whose planes fit panelPartBytes
    let perRow = 0;
    for (const { w, up } of list) perRow += (w.panels - 1) * (up ? 2 : 1) * w.rows * 4;
    const slice = perRow ? Math.max(1, Math.min(rows, Math.floor(this.panelPartBytes / perRow))) : rows;
    const partPtr = perRow ? this.scratchBuf('panels', perRow * slice) : 0;
    // the descriptor's parts every slice shares
    const j = this.jobI32();
    j[JOB.ARGS] = list.length;
    const tail = JOB.ARGS + 1 + MATMUL_WORDS * list.length;
    j[tail] = widePtr; j[tail + 1] = wide;
    j[tail + 2] = x.ptr; j[tail + 3] = ownList.length;
    for (let i = 0; i < ownList.length; i++) {
      const e = ownList[i]!, q = tail + 4 + QUANT_WORDS * i;
      j[q] = e.scheme; j[q + 1] = e.ptr; j[q + 2] = e.threadBytes; j[q + 3] = e.kp; j[q + 4] = e.panels; j[q + 5] = e.stride;
    }
    // chunks of about equal bytes across the job: about 8 per thread (16 with a GeGLU pair,
    // whose chunks read both matrices), small enough to even out a late thread; equal bytes so
    // that the threads' ranges of equal chunk counts (jobs.ts publishRanges) are equal work
    // also when the job's matrices differ in size (q/k/v: by matrix, the calling thread's range
    // held 3x the worker's bytes and the worker took ~6 chunks back a round; decode 1.00-1.025x
    // at 2 threads)
    let jobBytes = 0, pair = false;
    for (const { w, up } of list) {
      jobBytes += Math.ceil(w.rows / 4) * groupBytes(w.layout!, k) * (up ? 2 : 1);
      if (up) pair = true;
    }
    const chunkBytes = jobBytes / ((pair ? 16 : 8) * this.threads);
    for (let t0 = 0; t0 < rows; t0 += slice) {
      const T = Math.min(slice, rows - t0);
      let chunks = 0, part = partPtr;
      for (let i = 0; i < list.length; i++) {
        const { out, w, up } = list[i]!, l = w.layout!, o = JOB.ARGS + 1 + MATMUL_WORDS * i;
        const groups = Math.ceil(w.rows / 4);
        let cg = this.threads <= 1 ? groups : Math.max(1, Math.min(groups, Math.ceil(chunkBytes / (groupBytes(l, k) * (up ? 2 : 1)))));
        // column panels: chunks of whole row blocks (a part of a block skips within each panel)
        if (w.panels > 1) cg = Math.ceil(cg / PANEL_BLOCK_GROUPS) * PANEL_BLOCK_GROUPS;
        const e = acts.get(actKey(w))!, kp = k / w.panels, rowOut = t0 * w.rows * 4;
        j[o] = l.kind; j[o + 1] = w.ptr; j[o + 2] = e.ptr + t0 * e.rowStride; j[o + 3] = e.rowStride;
        j[o + 4] = out.ptr + rowOut; j[o + 5] = w.rows; j[o + 6] = kp; j[o + 7] = T; j[o + 8] = cg;
        j[o + 9] = e.threadBytes;
        j[o + 10] = up ? up.w.ptr : 0; j[o + 11] = up ? up.out.ptr + rowOut : 0;
        j[o + 12] = w.panels; j[o + 13] = groupBytes(l, kp); j[o + 14] = e.panelBytes; j[o + 15] = part;
        part += (w.panels - 1) * (up ? 2 : 1) * T * w.rows * 4;
        chunks += Math.ceil(groups / cg);
      }
      this.runJob(OP_MATMUL, chunks, true);
    }
  }

  private get threads(): number { return this.pool?.threads ?? 1; }

  /** run the job whose arguments are at JOB_PTR + JOB.ARGS on the pool, or on this thread alone */
  private runJob(op: number, chunks: number, parallel: boolean): void {
    const j = this.jobI32();
    j[JOB.OP] = op; j[JOB.CHUNKS] = chunks;
    if (this.pool && parallel) { this.pool.run(JOB_PTR); return; }
    // a generation the pool never uses: a worker still looking at an older job stays out
    j[JOB.DONE] = 0;
    publishRanges(j, this.rangeView, LOCAL_GEN, 1);
    this.ex.run(JOB_PTR, LOCAL_GEN, 0);
  }

  /** a reusable scratch buffer of at least `bytes` (contents not kept across calls) */
  private scratchBuf(key: string, bytes: number): number {
    const s = this.scratch.get(key);
    if (s && s.bytes >= bytes) return s.ptr;
    if (s) this.heap.release(s.ptr);
    const size = Math.max(bytes, s ? s.bytes * 2 : 0);
    const ptr = this.heap.alloc(size, 'scratch', `scratch (${key})`);
    this.scratch.set(key, { ptr, bytes: size });
    if (key.startsWith('rope')) this.ropeTables = this.ropeTables.filter((t) => t.slot !== key);
    return ptr;
  }

  rope(x: Tensor, p: RopeParams): void {
    this.flush();
    if (x.cols % p.headDim !== 0 || p.headDim % 2 !== 0) throw new GemmaError('BAD_SHAPE', `rope: ${x.cols} columns are not whole heads of ${p.headDim}`);
    const half = p.headDim / 2, rows = x.rows;
    const key = `${rows}/${p.headDim}/${p.startPos}/${p.theta}/${p.scaling}`;
    const bytes = rows * half * 2 * 4;
    let hit = this.ropeTables.find((t) => t.key === key);
    if (hit) {
      this.ropeTables = [hit, ...this.ropeTables.filter((t) => t !== hit)];
    } else {
      // the least recently used of ROPE_TABLES slots
      const used = new Set(this.ropeTables.map((t) => t.slot));
      const slot = this.ropeTables.length < ROPE_TABLES
        ? [...Array(ROPE_TABLES).keys()].map((i) => `rope${i}`).find((n) => !used.has(n))!
        : this.ropeTables[this.ropeTables.length - 1]!.slot;
      this.ropeTables = this.ropeTables.filter((t) => t.slot !== slot);
      const cs = this.scratchBuf(slot, bytes);
      // angle = (pos / scaling) * theta^(-2i/D), in f64 like the reference
      const f = this.heap.f32, c0 = cs / 4, s0 = c0 + rows * half;
      for (let i = 0; i < half; i++) {
        const inv = Math.pow(p.theta, -(2 * i) / p.headDim);
        for (let r = 0; r < rows; r++) {
          const a = ((p.startPos + r) / p.scaling) * inv;
          f[c0 + r * half + i] = Math.cos(a);
          f[s0 + r * half + i] = Math.sin(a);
        }
      }
      hit = { key, slot };
      this.ropeTables = [hit, ...this.ropeTables];
    }
    const cs = this.scratch.get(hit.slot)!.ptr;
    this.ex.ropeApply(T(x).ptr, rows, x.cols / p.headDim, p.headDim, cs);
  }

  kvStore(cache: KvLayer, k: Tensor, v: Tensor, startPos: number): void {
    this.flush();
    const c = cache as WasmKvLayer;
    expectShape('kvStore k', k, k.rows, c.kvDim);
    expectShape('kvStore v', v, k.rows, c.kvDim);
    const u8 = this.heap.u8, rb = c.kvDim * 4, cb = c.f16 ? c.kvDim * 2 : rb;
    for (let r = 0; r < k.rows; r++) {
      const slot = (startPos + r) % c.capacity;
      if (c.f16) {
        this.ex.toF16(c.k + slot * cb, T(k).ptr + r * rb, c.kvDim);
        this.ex.toF16(c.v + slot * cb, T(v).ptr + r * rb, c.kvDim);
        continue;
      }
      u8.copyWithin(c.k + slot * rb, T(k).ptr + r * rb, T(k).ptr + (r + 1) * rb);
      u8.copyWithin(c.v + slot * rb, T(v).ptr + r * rb, T(v).ptr + (r + 1) * rb);
    }
  }

  attention(out: Tensor, q: Tensor, cache: KvLayer, p: AttentionParams): void {
    this.flush();
    const c = cache as WasmKvLayer;
    expectShape('attention q', q, q.rows, p.numHeads * p.headDim);
    expectShape('attention out', out, q.rows, p.numHeads * p.headDim);
    if (c.kvDim !== p.numKvHeads * p.headDim) throw new GemmaError('BAD_SHAPE', `attention: cache kvDim ${c.kvDim} != ${p.numKvHeads} x ${p.headDim}`);
    if (p.numHeads % p.numKvHeads !== 0) throw new GemmaError('BAD_SHAPE', `attention: ${p.numHeads} heads are not a multiple of ${p.numKvHeads} KV heads`);
    if (p.startPos < 0) throw new GemmaError('BAD_ARGUMENT', `attention: startPos ${p.startPos}`);
    const nth = this.threads, H = p.numHeads, G = p.numKvHeads, D = p.headDim, hg = H / G;
    // work items (assembly/attention.ts): one per query row and KV head, all of its group's
    // heads together (each key and value row read once for the group); decoding one row, one
    // per KV head and range of ATTN_SPLIT keys, merged afterwards, so that one KV head's long
    // context still spreads over the threads (ranges fixed by the key count: the result does
    // not depend on the thread count)
    const decode = q.rows === 1;
    const start = p.startPos, win = p.window ?? 0;
    let lo = win > 0 ? Math.max(0, start - win + 1) : 0;
    if (start - lo + 1 > c.capacity) lo = start - c.capacity + 1;
    const n = start - lo + 1;
    const split = Math.max(1, Math.floor(this.attnSplitKeys) || ATTN_SPLIT);
    const ns = decode ? Math.ceil(n / split) : 1;
    const items = decode ? G * ns : q.rows * G;
    const keysPerItem = decode ? Math.min(n, split) : c.capacity;
    const perThread = Math.ceil((hg * (keysPerItem + 1)) / 4) * 16 + 64;
    const scratch = this.scratchBuf('attn', nth * perThread);
    const part = decode && ns > 1 ? this.scratchBuf('attn-part', items * hg * (D + 4) * 4) : 0;
    // split across threads only when there is enough work to pay for a pool round
    const keys = Math.min(c.capacity, p.startPos + q.rows);
    const par = nth > 1 && items > 1 && q.rows * H * keys * D >= ATTN_PARALLEL_MACS;
    const per = par ? Math.max(1, Math.ceil(items / (4 * nth))) : items;
    const j = this.jobI32(), jf = this.jobViewF, a = JOB.ARGS;
    j[a] = T(out).ptr; j[a + 1] = T(q).ptr; j[a + 2] = c.k; j[a + 3] = c.v; j[a + 4] = q.rows; j[a + 5] = H;
    j[a + 6] = G; j[a + 7] = D; j[a + 8] = c.capacity; j[a + 9] = p.startPos; j[a + 10] = win;
    jf[a + 11] = p.scale; jf[a + 12] = p.softcap ?? 0; j[a + 13] = scratch; j[a + 14] = perThread; j[a + 15] = per;
    j[a + 16] = items; j[a + 17] = decode ? split : 0; j[a + 18] = part; j[a + 19] = c.f16 ? 1 : 0;
    this.runJob(OP_ATTN, Math.ceil(items / per), par);
    if (part) this.ex.attnCombine(T(out).ptr, part, H, G, D, ns);
  }

  geglu(out: Tensor, gate: Tensor, up: Tensor): void {
    this.flush();
    expectShape('geglu up', up, gate.rows, gate.cols);
    expectShape('geglu out', out, gate.rows, gate.cols);
    const n = gate.rows * gate.cols;
    if (this.threads > 1 && n >= GEGLU_PARALLEL) {
      // chunks of whole vectors (an element's value does not depend on the chunking)
      const per = Math.ceil(n / (2 * this.threads) / 4) * 4;
      const j = this.jobI32(), a = JOB.ARGS;
      j[a] = T(out).ptr; j[a + 1] = T(gate).ptr; j[a + 2] = T(up).ptr; j[a + 3] = n; j[a + 4] = per;
      this.runJob(OP_GEGLU, Math.ceil(n / per), true);
      return;
    }
    this.ex.geglu(T(out).ptr, T(gate).ptr, T(up).ptr, n);
  }

  add(out: Tensor, a: Tensor, b: Tensor): void {
    this.flush();
    expectShape('add b', b, a.rows, a.cols);
    expectShape('add out', out, a.rows, a.cols);
    this.ex.add(T(out).ptr, T(a).ptr, T(b).ptr, a.rows * a.cols);
  }

  softcap(x: Tensor, cap: number): void {
    this.flush();
    if (!(cap > 0)) throw new GemmaError('BAD_ARGUMENT', `softcap: cap must be > 0, got ${cap}`);
    this.ex.softcap(T(x).ptr, x.rows * x.cols, cap);
  }

  copyRows(out: Tensor, x: Tensor, srcRow: number): void {
    this.flush();
    if (out.cols !== x.cols || srcRow < 0 || srcRow + out.rows > x.rows) throw new GemmaError('BAD_SHAPE', `copyRows: rows ${srcRow}..${srcRow + out.rows} of [${x.rows}, ${x.cols}] into [${out.rows}, ${out.cols}]`);
    const s = T(x).ptr + srcRow * x.cols * 4;
    this.heap.u8.copyWithin(T(out).ptr, s, s + out.rows * out.cols * 4);
  }

  async argmax(x: Tensor): Promise<Int32Array> {
    this.flush();
    const res = new Int32Array(x.rows);
    for (let r = 0; r < x.rows; r++) res[r] = this.ex.argmax(T(x).ptr + r * x.cols * 4, x.cols);
    return res;
  }

  private alive(): void {
    if (this.disposed) throw new GemmaError('BACKEND', 'the wasm backend was disposed');
  }
}

export function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  return WasmBackend.create(opts);
}
