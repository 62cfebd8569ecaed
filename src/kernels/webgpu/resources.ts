/// <reference types="@webgpu/types" />
/**
 * What the WebGPU backend hands out: activation tensors (pooled f32 storage buffers), weights
 * (chunks of repacked rows, weight-layout.ts) and KV layers (f32 or f16 ring buffers), plus the
 * buffer pool that lets a decode step reuse the buffers of the previous one.
 */
import type { DType } from '../../tensor/dtype.js';
import type { KvLayer, Tensor, Weight } from '../backend.js';
import type { WeightLayout } from './weight-layout.js';
import { BufferUsage } from './gpu-consts.js';

export class GpuTensor implements Tensor {
  freed = false;
  constructor(readonly rows: number, readonly cols: number, readonly buffer: GPUBuffer) {}
  get bytes(): number { return this.rows * this.cols * 4; }
}

export interface WeightChunk {
  buffer: GPUBuffer;
  /** first weight row in this chunk */
  rowBase: number;
  rows: number;
  /** word offset of the scale section */
  scaleOff: number;
}

export class GpuWeight implements Weight {
  freed = false;
  constructor(
    readonly name: string, readonly dtype: DType, readonly shape: readonly number[],
    readonly layout: WeightLayout, readonly chunks: WeightChunk[],
  ) {}
  get rows(): number { return this.shape.length === 1 ? 1 : this.shape[0]!; }
  get cols(): number { return this.shape[this.shape.length - 1]!; }
}

export class GpuKvLayer implements KvLayer {
  freed = false;
  /**
   * f16: the cache's elements are f16; packed: as f16 pairs in u32 words (an f16 cache on the f32
   * path: the KVP shader variants, which write element pairs)
   */
  constructor(readonly capacity: number, readonly kvDim: number, readonly k: GPUBuffer, readonly v: GPUBuffer, readonly f16: boolean, readonly packed: boolean) {}
}

/** round a size up to its pool class: 256-byte steps, then 1/8 steps of the power of two */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 256) * 256);
  if (b <= 65536) return b;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

/** Storage buffers for activations, reused by size class. */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly all = new Set<GPUBuffer>();
  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number): GPUBuffer {
    const c = sizeClass(bytes);
    const b = this.free.get(c)?.pop();
    if (b) return b;
    const nb = this.device.createBuffer({ label: 'activation', size: c, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
    this.all.add(nb);
    return nb;
  }

  release(b: GPUBuffer): void {
    const c = b.size;
    let l = this.free.get(c);
    if (!l) this.free.set(c, l = []);
    l.push(b);
  }

  /** buffers created so far (live or pooled) */
  get size(): number { return this.all.size; }

  destroyAll(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.free.clear();
  }
}
