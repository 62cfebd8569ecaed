/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend: weights, activations and the KV cache live in GPU buffers; ops record
 * dispatches into one command encoder (recorder.ts) that is submitted when a result is read
 * back, so a greedy decode step is one submit and a 4-byte readback (argmax on the GPU).
 *
 * Faults are typed: no adapter / device lost / out of memory / WebGPU validation errors all
 * become GemmaError('BACKEND'). A lost or failed backend stays failed (every later call
 * throws); dispose() destroys every GPU buffer, and the caller can load on another backend.
 */
import { GemmaError } from '../../errors.js';
import { byteSize } from '../../tensor/dtype.js';
import {
  type AttentionParams, type Backend, type KvLayer, matmulGegluPlain, matmulQkvPlain, qkRopeStorePlain, type RopeParams, residualNormPlain,
  type Tensor, type Weight, type WeightData,
} from '../backend.js';
import { acquireDevice, type GpuContext, type WebGpuOptions } from './device.js';
import { BufferUsage } from './gpu-consts.js';
import { argmax, topK } from './ops/argmax.js';
import { ATTENTION_CHUNK, attention, kvStore } from './ops/attention.js';
import type { OpContext } from './ops/context.js';
import { add, geglu, softcap } from './ops/elementwise.js';
import { embed } from './ops/embed.js';
import { matmul, multiMatvec } from './ops/matmul.js';
import { qkRopeStore, residualNorm } from './ops/fused.js';
import { rmsNorm } from './ops/norm.js';
import { rope } from './ops/rope.js';
import { type Kernel, type KernelSpec, Pipelines } from './pipelines.js';
import { Recorder } from './recorder.js';
import { BufferPool, GpuKvLayer, GpuTensor, GpuWeight, type WeightChunk } from './resources.js';
import { chunkBytes, packRows, rowsPerChunk, scaleOffset, weightLayout } from './weight-layout.js';

export type { WebGpuOptions } from './device.js';

export interface WebGpuInfo {
  adapter: GpuContext['adapterInfo'];
  adapterFeatures: string[];
  f16: boolean;
  subgroups: boolean;
  subgroupSize: number;
  timestamps: boolean;
  maxBindingBytes: number;
  /** a CPU implementation of WebGPU (lavapipe, SwiftShader, a fallback adapter): kernels that
   *  trade workgroup barriers for parallelism are avoided (WebGpuOptions.software overrides) */
  software: boolean;
  /** the KV cache's element type (WebGpuOptions.kvCache) */
  kvCache: 'f32' | 'f16';
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  /** weights are packed into GPU buffers (Backend.copiesWeightData) */
  readonly copiesWeightData = true;
  private readonly c: OpContext;
  private readonly pool: BufferPool;
  private readonly weights = new Set<GpuWeight>();
  private readonly kv = new Set<GpuKvLayer>();
  private failure: GemmaError | null = null;
  private disposed = false;
  /** decode attention gives each workgroup at least this many keys (flash-decoding splits) */
  private readonly splitKeys: number;
  /** the KV cache's element type (WebGpuOptions.kvCache) */
  private readonly kvType: 'f32' | 'f16';
  /** an f16 cache on the f32 path: f16 pairs packed in u32 words (shaders' KVP) */
  private readonly kvPacked: boolean;

  static async create(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
    return new WebGpuBackend(await acquireDevice(opts), opts);
  }

  private constructor(private readonly ctx: GpuContext, opts: WebGpuOptions) {
    const device = ctx.device;
    this.pool = new BufferPool(device);
    this.splitKeys = opts.attentionSplitKeys ?? ATTENTION_CHUNK;
    if (!(Number.isInteger(this.splitKeys) && this.splitKeys >= 1)) throw new GemmaError('BAD_ARGUMENT', `attentionSplitKeys must be a positive integer`);
    const uniformOffsets = opts.uniformOffsets ?? (ctx.software ? 'static' : 'dynamic');
    if (uniformOffsets !== 'static' && uniformOffsets !== 'dynamic') throw new GemmaError('BAD_ARGUMENT', `uniformOffsets must be 'static' or 'dynamic', got ${JSON.stringify(uniformOffsets)}`);
    const staticUniforms = uniformOffsets === 'static';
    if (opts.kvCache !== undefined && opts.kvCache !== 'f32' && opts.kvCache !== 'f16') throw new GemmaError('BAD_ARGUMENT', `kvCache must be 'f32' or 'f16', got ${JSON.stringify(opts.kvCache)}`, { field: 'kvCache' });
    this.kvType = opts.kvCache ?? (ctx.f16 ? 'f16' : 'f32');
    // shaders/common/header.wgsl: KV32 (f32 cache on the f16 path), KVP (packed f16 on the f32 path)
    this.kvPacked = !ctx.f16 && this.kvType === 'f16';
    const kvDefines = { KV32: ctx.f16 && this.kvType === 'f32', KVP: this.kvPacked };
    this.c = {
      gpu: ctx,
      rec: new Recorder(device, ctx.storageAlign, ctx.timestamps && opts.profile === true, staticUniforms),
      kernels: new Pipelines(device, { F16: ctx.f16, SUBGROUPS: ctx.subgroups, ...kvDefines }, staticUniforms),
    };
    void device.lost.then((info) => {
      if (!this.disposed) this.fail(new GemmaError('BACKEND', `the GPU device was lost (${info.reason}): ${info.message}`));
    });
    device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      const oom = typeof GPUOutOfMemoryError !== 'undefined' && err instanceof GPUOutOfMemoryError;
      this.fail(new GemmaError('BACKEND', `${oom ? 'GPU out of memory' : 'WebGPU error'}: ${err.message}`));
    });
  }

  get info(): WebGpuInfo {
    const g = this.ctx;
    return { adapter: g.adapterInfo, adapterFeatures: g.adapterFeatures, f16: g.f16, subgroups: g.subgroups, subgroupSize: g.subgroupSize, timestamps: g.timestamps, maxBindingBytes: g.maxBinding, software: g.software, kvCache: this.kvType };
  }

  /** the GPU device (tests and tools) */
  get device(): GPUDevice { return this.ctx.device; }

  /** queue submits so far: a decode step should add exactly one */
  get submits(): number { return this.c.rec.submits; }

  /** kernels built so far, with their WGSL (tests check their compilation) */
  kernels(): Kernel[] { return this.c.kernels.all(); }
  /** build kernels ahead of use (warm-up) */
  buildKernels(specs: readonly KernelSpec[]): void { this.check(); for (const s of specs) this.c.kernels.get(s); }
  /** the WGSL this backend would compile for a kernel variant (tests) */
  kernelSource(spec: KernelSpec): string { return this.c.kernels.source(spec); }

  /**
   * GPU milliseconds per kernel class (matvec, matmul, attention, rmsnorm, rope, embed, kv, add,
   * geglu, softcap, argmax) since the last reset; empty unless created with { profile: true } on
   * an adapter with timestamp-query. Complete once a download/argmax has returned.
   */
  profile(): Record<string, number> { return { ...this.c.rec.gpuTimeMs }; }
  /** dispatches per kernel class since the last reset */
  dispatchCounts(): Record<string, number> { return { ...this.c.rec.dispatchCount }; }
  /**
   * Submit the recorded work every `n` dispatches (default DISPATCHES_PER_SUBMIT = 48; Infinity:
   * one submit per decode step, when its token is read back). A finite n lets the GPU start
   * while the host is still recording the rest of a step; nothing waits for the GPU either way.
   */
  setDispatchesPerSubmit(n: number): void {
    if (!(n >= 1)) throw new GemmaError('BAD_ARGUMENT', `dispatches per submit must be >= 1, got ${n}`);
    this.c.rec.dispatchesPerSubmit = n;
  }
  /** turn timestamp writes on or off (profile mode only; off, dispatches share one pass again) */
  setProfiling(on: boolean): void { this.c.rec.profiling = on && this.ctx.timestamps; }
  /** host milliseconds spent recording batches (first command to submit) since the last reset */
  encodeMs(): number { return this.c.rec.encodeMs; }
  resetProfile(): void {
    this.c.rec.encodeMs = 0;
    for (const k of Object.keys(this.c.rec.gpuTimeMs)) delete this.c.rec.gpuTimeMs[k];
    for (const k of Object.keys(this.c.rec.dispatchCount)) delete this.c.rec.dispatchCount[k];
  }

  private fail(e: GemmaError): void { this.failure ??= e; }

  /** throw if the backend can no longer be used */
  private check(): void {
    if (this.disposed) throw new GemmaError('BACKEND', 'the WebGPU backend was disposed');
    if (this.failure) throw this.failure;
  }

  private T(t: Tensor): GpuTensor {
    if (!(t instanceof GpuTensor)) throw new GemmaError('BAD_ARGUMENT', 'not a WebGPU tensor');
    if (t.freed) throw new GemmaError('BAD_ARGUMENT', `tensor [${t.rows}, ${t.cols}] was freed`);
    return t;
  }
  private W(w: Weight): GpuWeight {
    if (!(w instanceof GpuWeight)) throw new GemmaError('BAD_ARGUMENT', 'not a WebGPU weight');
    if (w.freed) throw new GemmaError('BAD_ARGUMENT', `weight ${w.name} was freed`);
    return w;
  }
  private K(l: KvLayer): GpuKvLayer {
    if (!(l instanceof GpuKvLayer)) throw new GemmaError('BAD_ARGUMENT', 'not a WebGPU KV layer');
    if (l.freed) throw new GemmaError('BAD_ARGUMENT', 'KV layer was freed');
    return l;
  }

  /** createBuffer with out-of-memory turned into a typed error */
  private createBuffer(desc: GPUBufferDescriptor, what: string): GPUBuffer {
    const device = this.ctx.device;
    device.pushErrorScope('out-of-memory');
    let buf: GPUBuffer;
    try {
      buf = device.createBuffer(desc);
    } catch (e) {
      void device.popErrorScope();
      throw new GemmaError('BACKEND', `GPU out of memory creating ${what} (${desc.size} bytes): ${(e as Error).message}`, { cause: e });
    }
    void device.popErrorScope().then((err) => {
      if (err) this.fail(new GemmaError('BACKEND', `GPU out of memory creating ${what} (${desc.size} bytes): ${err.message}`));
    }, () => {});
    return buf;
  }

  // ---------------------------------------------------------------- memory

  uploadWeight(w: WeightData): Weight {
    this.check();
    const need = byteSize(w.dtype, w.shape);
    if (need === undefined || need !== w.data.byteLength) {
      throw new GemmaError('BAD_TENSOR', `${w.dtype} [${w.shape}] needs ${need ?? '?'} bytes, got ${w.data.byteLength}`, { tensor: w.name });
    }
    if (w.shape.length < 1 || w.shape.length > 2) throw new GemmaError('BAD_SHAPE', `weights are 1-D or 2-D, got [${w.shape}]`, { tensor: w.name });
    const cols = w.shape[w.shape.length - 1]!;
    const rows = w.shape.length === 1 ? 1 : w.shape[0]!;
    const layout = weightLayout(w.dtype, cols);
    const perChunk = rowsPerChunk(layout, this.ctx.maxBinding, w.name);
    const srcRowBytes = need / rows;
    const chunks: WeightChunk[] = [];
    try {
      for (let r0 = 0; r0 < rows; r0 += perChunk) {
        const r1 = Math.min(rows, r0 + perChunk);
        const size = chunkBytes(layout, r1 - r0);
        const buffer = this.createBuffer({ label: w.name, size, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST, mappedAtCreation: true }, `weight ${w.name}`);
        chunks.push({ buffer, rowBase: r0, rows: r1 - r0, scaleOff: scaleOffset(layout, r1 - r0) });
        packRows(w.dtype, layout, w.data, srcRowBytes, r0, r1, new Uint8Array(buffer.getMappedRange()));
        buffer.unmap();
      }
    } catch (e) {
      for (const ch of chunks) ch.buffer.destroy();
      if (e instanceof GemmaError) throw e;
      throw new GemmaError('BACKEND', `uploading ${w.name} failed: ${(e as Error).message}`, { tensor: w.name, cause: e });
    }
    const gw = new GpuWeight(w.name, w.dtype, [...w.shape], layout, chunks);
    this.weights.add(gw);
    return gw;
  }

  freeWeight(w: Weight): void {
    if (!(w instanceof GpuWeight) || w.freed || this.disposed) return;
    this.c.rec.flush(); // recorded work may still read it
    for (const ch of w.chunks) ch.buffer.destroy();
    w.freed = true;
    this.weights.delete(w);
    this.c.rec.forgetBindGroups();
  }

  tensor(rows: number, cols: number, uninitialized = false): Tensor {
    this.check();
    if (!(Number.isInteger(rows) && rows >= 0 && Number.isInteger(cols) && cols >= 0)) throw new GemmaError('BAD_SHAPE', `tensor [${rows}, ${cols}]`);
    const bytes = rows * cols * 4;
    if (bytes > this.ctx.maxBinding) {
      throw new GemmaError('BACKEND', `a [${rows}, ${cols}] f32 tensor (${bytes} bytes) exceeds the GPU's storage binding limit of ${this.ctx.maxBinding} bytes (use smaller prefill chunks)`);
    }
    const t = new GpuTensor(rows, cols, this.pool.acquire(bytes));
    if (!uninitialized) this.c.rec.clear(t.buffer, 0, Math.ceil(Math.max(4, bytes) / 4) * 4);
    return t;
  }

  freeTensor(t: Tensor): void {
    if (!(t instanceof GpuTensor) || t.freed || this.disposed) return;
    t.freed = true;
    this.pool.release(t.buffer); // later work is ordered after earlier work on the queue
  }

  upload(t: Tensor, data: Float32Array): void {
    this.check();
    const g = this.T(t);
    if (data.length !== g.rows * g.cols) throw new GemmaError('BAD_SHAPE', `upload of ${data.length} floats into [${g.rows}, ${g.cols}]`);
    this.c.rec.write(g.buffer, 0, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  async download(t: Tensor): Promise<Float32Array> {
    this.check();
    const g = this.T(t);
    if (g.bytes === 0) return new Float32Array(0);
    const out = new Float32Array(await this.c.rec.readback(g.buffer, 0, g.bytes));
    await this.afterReadback();
    return out;
  }

  private async afterReadback(): Promise<void> {
    await this.c.rec.settleProfile();
    // errors raised while the work ran (validation, OOM, loss) surface here
    this.check();
  }

  createKvLayer(capacity: number, kvDim: number): KvLayer {
    this.check();
    if (!(Number.isInteger(capacity) && capacity >= 1 && Number.isInteger(kvDim) && kvDim >= 1)) throw new GemmaError('BAD_SHAPE', `KV layer [${capacity}, ${kvDim}]`);
    const f16 = this.kvType === 'f16';
    if (this.kvPacked && kvDim % 2 !== 0) throw new GemmaError('BAD_SHAPE', `a packed f16 KV cache needs an even row width, got ${kvDim}`);
    const bytes = Math.ceil((capacity * kvDim * (f16 ? 2 : 4)) / 4) * 4;
    if (bytes > this.ctx.maxBinding) {
      throw new GemmaError('BACKEND', `a KV cache layer of ${capacity} x ${kvDim} (${bytes} bytes) exceeds the GPU's storage binding limit of ${this.ctx.maxBinding} bytes (use a shorter context)`);
    }
    const usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
    const k = this.createBuffer({ label: 'kv.k', size: bytes, usage }, 'KV cache');
    let v: GPUBuffer;
    try { v = this.createBuffer({ label: 'kv.v', size: bytes, usage }, 'KV cache'); } catch (e) { k.destroy(); throw e; }
    const l = new GpuKvLayer(capacity, kvDim, k, v, f16, this.kvPacked);
    this.kv.add(l);
    return l;
  }

  freeKvLayer(l: KvLayer): void {
    if (!(l instanceof GpuKvLayer) || l.freed || this.disposed) return;
    this.c.rec.flush();
    l.k.destroy();
    l.v.destroy();
    l.freed = true;
    this.kv.delete(l);
    this.c.rec.forgetBindGroups();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.c.rec.destroy();
    for (const w of this.weights) { for (const ch of w.chunks) ch.buffer.destroy(); w.freed = true; }
    for (const l of this.kv) { l.k.destroy(); l.v.destroy(); l.freed = true; }
    this.weights.clear();
    this.kv.clear();
    this.pool.destroyAll();
    this.ctx.device.destroy();
  }

  // ---------------------------------------------------------------- ops

  embed(out: Tensor, table: Weight, tokens: Int32Array, scale: number): void {
    this.check();
    embed(this.c, this.T(out), this.W(table), tokens, scale);
  }
  rmsNorm(out: Tensor, x: Tensor, w: Weight, eps: number): void {
    this.check();
    rmsNorm(this.c, this.T(out), this.T(x), this.W(w), eps);
  }
  matmul(out: Tensor, x: Tensor, w: Weight): void {
    this.check();
    matmul(this.c, this.T(out), this.T(x), this.W(w));
  }
  rope(x: Tensor, p: RopeParams): void {
    this.check();
    rope(this.c, this.T(x), p);
  }
  matmulQkv(q: Tensor, k: Tensor, v: Tensor, x: Tensor, wq: Weight, wk: Weight, wv: Weight): void {
    this.check();
    if (multiMatvec(this.c, [this.T(q), this.T(k), this.T(v)], this.T(x), [this.W(wq), this.W(wk), this.W(wv)], false)) return;
    matmulQkvPlain(this, q, k, v, x, wq, wk, wv);
  }
  matmulGeglu(out: Tensor, x: Tensor, wGate: Weight, wUp: Weight, up: Tensor): void {
    this.check();
    if (multiMatvec(this.c, [this.T(out)], this.T(x), [this.W(wGate), this.W(wUp)], true)) return;
    matmulGegluPlain(this, out, x, wGate, wUp, up);
  }
  qkRopeStore(q: Tensor, k: Tensor, v: Tensor, cache: KvLayer, qNorm: Weight | null, kNorm: Weight | null, eps: number, p: RopeParams): void {
    this.check();
    if (qkRopeStore(this.c, this.T(q), this.T(k), this.T(v), this.K(cache), qNorm && this.W(qNorm), kNorm && this.W(kNorm), eps, p)) return;
    qkRopeStorePlain(this, q, k, v, cache, qNorm, kNorm, eps, p);
  }
  residualNorm(h: Tensor, o: Tensor, post: Weight | null, x: Tensor, next: Weight, eps: number): void {
    this.check();
    if (residualNorm(this.c, this.T(h), this.T(o), post && this.W(post), this.T(x), this.W(next), eps)) return;
    residualNormPlain(this, h, o, post, x, next, eps);
  }
  kvStore(cache: KvLayer, k: Tensor, v: Tensor, startPos: number): void {
    this.check();
    kvStore(this.c, this.K(cache), this.T(k), this.T(v), startPos);
  }
  attention(out: Tensor, q: Tensor, cache: KvLayer, p: AttentionParams): void {
    this.check();
    attention(this.c, this.pool, this.T(out), this.T(q), this.K(cache), p, this.splitKeys);
  }
  geglu(out: Tensor, gate: Tensor, up: Tensor): void {
    this.check();
    geglu(this.c, this.T(out), this.T(gate), this.T(up));
  }
  add(out: Tensor, a: Tensor, b: Tensor): void {
    this.check();
    add(this.c, this.T(out), this.T(a), this.T(b));
  }
  softcap(x: Tensor, cap: number): void {
    this.check();
    softcap(this.c, this.T(x), cap);
  }
  copyRows(out: Tensor, x: Tensor, srcRow: number): void {
    this.check();
    const o = this.T(out), s = this.T(x);
    if (o.cols !== s.cols || !(Number.isInteger(srcRow) && srcRow >= 0) || srcRow + o.rows > s.rows) {
      throw new GemmaError('BAD_SHAPE', `copyRows: rows ${srcRow}..${srcRow + o.rows} of [${s.rows}, ${s.cols}] into [${o.rows}, ${o.cols}]`);
    }
    this.c.rec.copy(s.buffer, srcRow * s.cols * 4, o.buffer, 0, o.bytes);
  }
  async argmax(x: Tensor): Promise<Int32Array> {
    this.check();
    const r = await argmax(this.c, this.pool, this.T(x));
    await this.afterReadback();
    return r;
  }
  /**
   * (not in the Backend interface) the k largest logits of each row, largest first, selected on
   * the GPU: rows * k ids and values come back instead of the whole rows (top-k sampling).
   */
  async topK(x: Tensor, k: number): Promise<{ ids: Int32Array; values: Float32Array }> {
    this.check();
    const r = await topK(this.c, this.pool, this.T(x), k);
    await this.afterReadback();
    return r;
  }
}
