/// <reference types="@webgpu/types" />
/**
 * The command recorder: ops append dispatches and copies to one open command encoder (one
 * compute pass while possible); the batch is submitted when a result is read back (download,
 * argmax), when an arena fills up, or every DISPATCHES_PER_SUBMIT dispatches (so the GPU starts
 * early). Nothing waits for the GPU inside a decode step: its one wait is the token readback.
 *
 * Small per-dispatch data does not go through separate buffers:
 * - uniform parameters: 256-byte slots of a uniform arena, written with one queue.writeBuffer
 *   before submit, bound with a dynamic offset (one bind group per kernel and buffers) or, with
 *   staticUniforms (CPU drivers: lavapipe takes ~70 us per dynamic-offset bind), at an offset
 *   fixed in the bind group (one group per slot; a decode step fills the slots in the same
 *   order every step, so its groups are built once and reused);
 * - small storage data (token ids, RoPE tables, small uploads): a data arena, likewise.
 * queue.writeBuffer is ordered with submits on the queue timeline, so refilling an arena for
 * batch n+1 cannot disturb batch n.
 *
 * Profile mode: every dispatch gets its own pass with timestamp writes; GPU time is summed per
 * kernel class when the batch completes.
 */
import { GemmaError } from '../../errors.js';
import { BufferUsage, MapMode } from './gpu-consts.js';
import type { Kernel } from './pipelines.js';

export interface Binding { buffer: GPUBuffer; offset?: number; size?: number }

export const UNIFORM_SLOT = 256;
/**
 * Default submit granularity: a batch is submitted every this many dispatches, so the GPU runs
 * the first layers of a step while the host records the rest (on an H100, Gemma 3 1B decode
 * went from 11.1 to 7.6 ms a token against one submit per step; bench/gpu).
 */
export const DISPATCHES_PER_SUBMIT = 48;
const UNIFORM_SLOTS = 4096;
const DATA_BYTES = 4 << 20;
const MAX_QUERIES = 4096;
/** keyed data (RoPE tables) kept on the host across batches */
const KEY_BYTES = 16;
/** bind groups kept for reuse before the cache is dropped */
const MAX_GROUPS = 16384;

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);

/**
 * Build one uniform block: fields are 4-byte u32/f32 in declaration order, kept as u32 bit
 * patterns in a plain array (a dispatch copies them into the uniform arena; no buffer per op).
 */
export class Params {
  readonly words: number[] = [];
  u32(v: number): this {
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new GemmaError('INTERNAL', `uniform u32 out of range: ${v}`);
    this.words.push(v); return this;
  }
  f32(v: number): this { f32Bits[0] = v; this.words.push(u32Bits[0]!); return this; }
}

export class Recorder {
  private enc: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniCpu = new Uint8Array(UNIFORM_SLOT * UNIFORM_SLOTS);
  private readonly uniWords = new Uint32Array(this.uniCpu.buffer);
  private uniUsed = 0;
  private readonly uniGpu: GPUBuffer;
  private dataCpu = new Uint8Array(DATA_BYTES);
  private dataUsed = 0;
  private dataGpu: GPUBuffer;
  /** data already placed in the arena in this batch, by caller key (RoPE tables) */
  private readonly dataKeys = new Map<string, Binding>();
  /**
   * bytes of keyed data, kept across submits (a decode step spans several batches, and each
   * places the step's RoPE tables again: computed once, copied after)
   */
  private readonly keyBytes = new Map<string, Uint8Array>();
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private readonly staging = new Map<number, GPUBuffer[]>();
  // profiling
  private readonly querySet: GPUQuerySet | null;
  private queryKinds: string[] = [];
  private readonly pendingProfiles = new Set<Promise<void>>();
  readonly gpuTimeMs: Record<string, number> = {};
  readonly dispatchCount: Record<string, number> = {};
  /** number of queue submits so far (tests: one per decode step) */
  submits = 0;
  /** timestamps are written only while this is on (needs a query set: profile mode) */
  profiling: boolean;
  /**
   * submit once a batch holds this many dispatches (Infinity: only when a result is read back),
   * so the GPU starts on the first layers while the host records the rest
   */
  dispatchesPerSubmit = DISPATCHES_PER_SUBMIT;
  private batchDispatches = 0;
  /** host milliseconds from a batch's first recorded command to its submit, summed */
  encodeMs = 0;
  private openedAt = 0;

  constructor(private readonly device: GPUDevice, private readonly storageAlign: number, profile: boolean, private readonly staticUniforms = false) {
    this.uniGpu = device.createBuffer({ label: 'uniform arena', size: this.uniCpu.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    this.dataGpu = this.newDataArena(DATA_BYTES);
    this.querySet = profile ? device.createQuerySet({ type: 'timestamp', count: MAX_QUERIES }) : null;
    this.profiling = profile;
  }

  private newDataArena(bytes: number): GPUBuffer {
    return this.device.createBuffer({ label: 'data arena', size: bytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC });
  }

  private id(b: GPUBuffer): number {
    let i = this.ids.get(b);
    if (i === undefined) { i = this.nextId++; this.ids.set(b, i); }
    return i;
  }

  private encoder(): GPUCommandEncoder {
    if (!this.enc) {
      this.openedAt = performance.now();
      this.enc = this.device.createCommandEncoder();
    }
    return this.enc;
  }

  private endPass(): void {
    if (this.pass) { this.pass.end(); this.pass = null; }
  }

  /** Record one dispatch of `k` with params in binding 0 and `bindings` in 1.. */
  dispatch(k: Kernel, bindings: readonly Binding[], params: Params, wg: readonly [number, number?, number?]): void {
    const [x, y = 1, z = 1] = wg;
    if (x === 0 || y === 0 || z === 0) return;
    if (x > 65535 || y > 65535 || z > 65535) throw new GemmaError('INTERNAL', `${k.kind}: grid ${x}x${y}x${z} exceeds 65535 workgroups per dimension`);
    if (this.uniUsed + UNIFORM_SLOT > this.uniCpu.byteLength) this.flush();
    const timed = this.querySet !== null && this.profiling;
    if (timed && this.queryKinds.length * 2 + 2 > MAX_QUERIES) this.flush();
    const off = this.uniUsed;
    if (params.words.length > UNIFORM_SLOT / 4) throw new GemmaError('INTERNAL', `${k.kind}: ${params.words.length} uniform words`);
    this.uniWords.set(params.words, off / 4);
    this.uniUsed += UNIFORM_SLOT;

    let key = this.staticUniforms ? `${k.id}@${off}#` : `${k.id}#`;
    for (const b of bindings) key += `${this.id(b.buffer)}:${b.offset ?? 0}:${b.size ?? -1},`;
    let group = this.groups.get(key);
    if (!group) {
      if (this.groups.size >= MAX_GROUPS) this.groups.clear();
      group = this.device.createBindGroup({
        layout: k.layout,
        entries: [
          { binding: 0, resource: { buffer: this.uniGpu, offset: this.staticUniforms ? off : 0, size: UNIFORM_SLOT } },
          ...bindings.map((b, i) => ({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } })),
        ],
      });
      this.groups.set(key, group);
    }
    const enc = this.encoder();
    let pass = this.pass;
    if (timed) {
      this.endPass();
      const q = this.queryKinds.length * 2;
      this.queryKinds.push(k.kind);
      pass = enc.beginComputePass({ timestampWrites: { querySet: this.querySet!, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } });
    } else if (!pass) {
      pass = this.pass = enc.beginComputePass();
    }
    pass.setPipeline(k.pipeline);
    if (this.staticUniforms) pass.setBindGroup(0, group);
    else pass.setBindGroup(0, group, [off]);
    pass.dispatchWorkgroups(x, y, z);
    if (timed) pass.end();
    this.dispatchCount[k.kind] = (this.dispatchCount[k.kind] ?? 0) + 1;
    if (++this.batchDispatches >= this.dispatchesPerSubmit) this.flush();
  }

  /**
   * Place bytes in the data arena for the current batch (same `key` in a batch: placed once;
   * a keyed `src` function runs once for the last KEY_BYTES keys, whatever the batches).
   */
  data(src: Uint8Array | (() => Uint8Array), key?: string): Binding {
    if (key !== undefined) {
      const b = this.dataKeys.get(key);
      if (b) return b;
    }
    let bytes: Uint8Array;
    if (typeof src !== 'function') bytes = src;
    else if (key === undefined) bytes = src();
    else {
      let kept = this.keyBytes.get(key);
      if (!kept) {
        if (this.keyBytes.size >= KEY_BYTES) this.keyBytes.clear();
        this.keyBytes.set(key, kept = src());
      }
      bytes = kept;
    }
    const size = Math.max(4, Math.ceil(bytes.byteLength / 4) * 4);
    let off = Math.ceil(this.dataUsed / this.storageAlign) * this.storageAlign;
    if (off + size > this.dataCpu.byteLength) {
      this.flush();
      off = 0;
      if (size > this.dataCpu.byteLength) {
        // grow: the old arena may still be read by submitted work; destroy() waits for that
        const cap = Math.ceil(size / DATA_BYTES) * DATA_BYTES;
        this.dataGpu.destroy();
        this.dataGpu = this.newDataArena(cap);
        this.dataCpu = new Uint8Array(cap);
        this.groups.clear();
      }
    }
    this.dataCpu.set(bytes, off);
    this.dataUsed = off + size;
    const b: Binding = { buffer: this.dataGpu, offset: off, size };
    if (key !== undefined) this.dataKeys.set(key, b);
    return b;
  }

  copy(src: GPUBuffer, srcOff: number, dst: GPUBuffer, dstOff: number, size: number): void {
    if (size === 0) return;
    this.endPass();
    this.encoder().copyBufferToBuffer(src, srcOff, dst, dstOff, size);
  }

  clear(buf: GPUBuffer, off: number, size: number): void {
    if (size === 0) return;
    this.endPass();
    this.encoder().clearBuffer(buf, off, size);
  }

  /** Write host data into a buffer, in order with the recorded work. */
  write(buf: GPUBuffer, off: number, bytes: Uint8Array): void {
    if (bytes.byteLength <= DATA_BYTES / 4) {
      const src = this.data(bytes);
      this.copy(src.buffer, src.offset!, buf, off, bytes.byteLength);
    } else {
      this.flush();
      this.device.queue.writeBuffer(buf, off, bytes, 0, bytes.byteLength);
    }
  }

  /** Submit everything recorded so far. */
  flush(): void {
    if (!this.enc) return;
    this.endPass();
    let profileRead: GPUBuffer | null = null;
    let resolve: GPUBuffer | null = null;
    const kinds = this.queryKinds;
    if (this.querySet && kinds.length) {
      const bytes = kinds.length * 16;
      resolve = this.device.createBuffer({ size: bytes, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
      profileRead = this.device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
      this.enc.resolveQuerySet(this.querySet, 0, kinds.length * 2, resolve, 0);
      this.enc.copyBufferToBuffer(resolve, 0, profileRead, 0, bytes);
    }
    if (this.uniUsed) this.device.queue.writeBuffer(this.uniGpu, 0, this.uniCpu, 0, this.uniUsed);
    if (this.dataUsed) this.device.queue.writeBuffer(this.dataGpu, 0, this.dataCpu, 0, this.dataUsed);
    this.device.queue.submit([this.enc.finish()]);
    this.encodeMs += performance.now() - this.openedAt;
    resolve?.destroy(); // after the work that uses it completes
    this.submits++;
    this.batchDispatches = 0;
    this.enc = null;
    this.uniUsed = 0;
    this.dataUsed = 0;
    this.dataKeys.clear();
    this.queryKinds = [];
    if (profileRead) this.collectProfile(profileRead, kinds);
  }

  private collectProfile(read: GPUBuffer, kinds: string[]): void {
    const p = read.mapAsync(MapMode.READ).then(() => {
      const t = new BigUint64Array(read.getMappedRange());
      for (let i = 0; i < kinds.length; i++) {
        const ns = Number(t[2 * i + 1]! - t[2 * i]!);
        // timestamps may be unavailable or reordered (quantized, or 0 on some drivers)
        if (ns > 0 && ns < 1e10) this.gpuTimeMs[kinds[i]!] = (this.gpuTimeMs[kinds[i]!] ?? 0) + ns / 1e6;
      }
      read.unmap();
    }).catch(() => {}).finally(() => { read.destroy(); this.pendingProfiles.delete(p); });
    this.pendingProfiles.add(p);
  }

  /** wait for the GPU times of submitted batches */
  async settleProfile(): Promise<void> { await Promise.all([...this.pendingProfiles]); }

  /** Copy `size` bytes of `src` back to the host (submits everything recorded). */
  async readback(src: GPUBuffer, srcOff: number, size: number): Promise<ArrayBuffer> {
    const cap = Math.max(256, 2 ** Math.ceil(Math.log2(Math.ceil(size / 4) * 4)));
    const st = this.staging.get(cap)?.pop() ?? this.device.createBuffer({ label: 'staging', size: cap, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const bytes = Math.ceil(size / 4) * 4;
    this.copy(src, srcOff, st, 0, bytes);
    this.flush();
    try {
      await st.mapAsync(MapMode.READ, 0, bytes);
    } catch (e) {
      st.destroy();
      throw new GemmaError('BACKEND', `reading back from the GPU failed: ${(e as Error).message}`, { cause: e });
    }
    const out = st.getMappedRange(0, bytes).slice(0, size);
    st.unmap();
    let list = this.staging.get(cap);
    if (!list) this.staging.set(cap, list = []);
    list.push(st);
    return out;
  }

  /** a buffer was destroyed: drop bind groups (they may name it) */
  forgetBindGroups(): void { this.groups.clear(); }

  destroy(): void {
    this.enc = null;
    this.pass = null;
    this.uniGpu.destroy();
    this.dataGpu.destroy();
    this.querySet?.destroy();
    for (const l of this.staging.values()) for (const b of l) b.destroy();
    this.staging.clear();
    this.groups.clear();
  }
}
