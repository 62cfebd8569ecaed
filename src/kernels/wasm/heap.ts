/**
 * The WASM backend's memory: one WebAssembly.Memory (shared between the host and the
 * worker threads when SharedArrayBuffer is available) managed from the host side.
 *
 *   [0, 64 KiB)        reserved: control block of the thread pool and the job descriptor
 *   [64 KiB, end)      first-fit free list of 64-byte aligned blocks: weights, activations,
 *                      KV caches, scratch. The memory grows on demand, up to wasm32's
 *                      4 GiB (65536 pages); past that an allocation fails with a clear error.
 *
 * Planning for the 4 GiB: weights keep their file size (repacking only reorders bytes; a
 * matrix of rows longer than 4096 columns pads its last 32 rows: layout.ts panelsOf),
 * the KV cache is f32 (2 * layers * capacity * kvDim * 4 bytes) and activations are small,
 * so Gemma 2 2B Q8_0 (2.8 GB + 0.9 GB of KV cache at 4096 tokens) and Gemma 3 4B Q4_K
 * (2.5 GB + 0.45 GB) fit; bigger models fail at upload with the numbers in the message.
 */
import { GemmaError } from '../../errors.js';

export const PAGE = 65536;
export const MAX_PAGES = 65536;
export const RESERVED = 65536;
const ALIGN = 64;

export type AllocKind = 'weight' | 'tensor' | 'kv' | 'scratch';

export class WasmHeap {
  /** free blocks sorted by address */
  private free: { ptr: number; size: number }[] = [];
  private live = new Map<number, { size: number; kind: AllocKind }>();
  private end: number;
  private u8c: Uint8Array;
  private f32c: Float32Array;
  readonly inUse: Record<AllocKind, number> = { weight: 0, tensor: 0, kv: 0, scratch: 0 };

  constructor(readonly memory: WebAssembly.Memory) {
    this.end = memory.buffer.byteLength;
    if (this.end < RESERVED) throw new GemmaError('INTERNAL', 'wasm memory smaller than its reserved area');
    if (this.end > RESERVED) this.free.push({ ptr: RESERVED, size: this.end - RESERVED });
    this.u8c = new Uint8Array(memory.buffer);
    this.f32c = new Float32Array(memory.buffer);
  }

  /** views over the whole memory (refreshed after growth; non-shared buffers detach on grow) */
  get u8(): Uint8Array {
    if (this.u8c.byteLength !== this.memory.buffer.byteLength) this.refresh();
    return this.u8c;
  }
  get f32(): Float32Array {
    if (this.f32c.byteLength !== this.memory.buffer.byteLength) this.refresh();
    return this.f32c;
  }
  private refresh(): void {
    this.u8c = new Uint8Array(this.memory.buffer);
    this.f32c = new Float32Array(this.memory.buffer);
  }

  get totalBytes(): number { return this.end; }

  /**
   * Copy bytes into memory at dst. Byte-wise TypedArray.set into a SharedArrayBuffer is slow
   * in V8 (~1 GB/s: element-wise relaxed copies); 8-byte elements copy several times faster,
   * so the aligned middle goes through BigInt64Array views (integer elements: a raw copy).
   */
  write(dst: number, src: Uint8Array): void {
    const n = src.byteLength;
    if (n < 64 || dst % 8 !== 0) { this.u8.set(src, dst); return; }
    const s = src.byteOffset % 8 === 0 ? src : src.slice(); // slice(): a fresh, aligned copy
    const n8 = n >>> 3;
    new BigInt64Array(this.memory.buffer, dst, n8).set(new BigInt64Array(s.buffer, s.byteOffset, n8));
    if (n8 * 8 < n) this.u8.set(s.subarray(n8 * 8), dst + n8 * 8);
  }

  alloc(bytes: number, kind: AllocKind, what: string): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new GemmaError('INTERNAL', `bad allocation size ${bytes} for ${what}`);
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let i = this.free.findIndex((b) => b.size >= size);
    if (i < 0) { this.grow(size, what); i = this.free.findIndex((b) => b.size >= size); }
    const b = this.free[i]!;
    const ptr = b.ptr;
    if (b.size === size) this.free.splice(i, 1);
    else { b.ptr += size; b.size -= size; }
    this.live.set(ptr, { size, kind });
    this.inUse[kind] += size;
    return ptr;
  }

  release(ptr: number): void {
    const a = this.live.get(ptr);
    if (!a) return; // freeing twice is harmless
    this.live.delete(ptr);
    this.inUse[a.kind] -= a.size;
    this.insertFree(ptr, a.size);
  }

  private insertFree(ptr: number, size: number): void {
    let lo = 0, hi = this.free.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.free[mid]!.ptr < ptr) lo = mid + 1; else hi = mid; }
    this.free.splice(lo, 0, { ptr, size });
    // coalesce with the next, then the previous block
    const cur = this.free[lo]!, next = this.free[lo + 1];
    if (next && cur.ptr + cur.size === next.ptr) { cur.size += next.size; this.free.splice(lo + 1, 1); }
    const prev = this.free[lo - 1];
    if (prev && prev.ptr + prev.size === cur.ptr) { prev.size += cur.size; this.free.splice(lo, 1); }
  }

  /** grow so that a free block of `size` bytes exists at the end */
  private grow(size: number, what: string): void {
    const last = this.free[this.free.length - 1];
    const tailFree = last && last.ptr + last.size === this.end ? last.size : 0;
    const need = size - tailFree;
    // grow by at least 1/8 of the current size (fewer, larger steps) but never past the limit
    const minPages = Math.ceil(need / PAGE);
    const curPages = this.end / PAGE;
    let pages = Math.max(minPages, Math.min(Math.ceil(curPages / 8), 4096));
    if (curPages + pages > MAX_PAGES) pages = minPages;
    if (curPages + pages > MAX_PAGES) throw this.oom(size, what);
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw this.oom(size, what, e);
    }
    const added = pages * PAGE;
    this.insertFree(this.end, added);
    this.end += added;
  }

  private oom(size: number, what: string, cause?: unknown): GemmaError {
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    const u = this.inUse;
    return new GemmaError('BACKEND',
      `the wasm backend cannot allocate ${mb(size)} for ${what}: wasm32 memory is limited to 4 GiB ` +
      `(in use: weights ${mb(u.weight)}, KV cache ${mb(u.kv)}, activations ${mb(u.tensor)}, scratch ${mb(u.scratch)}; ` +
      `memory ${mb(this.end)}). Use a smaller quantization or context, or the webgpu backend.`, { cause });
  }
}
