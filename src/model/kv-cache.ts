/**
 * The KV cache: one K/V pair of [capacity, G*D] buffers per layer, on the backend.
 * Position p is stored in slot p % capacity; sliding-window layers can therefore keep
 * only their window (plus one prefill chunk) while global layers keep the whole context.
 */
import type { Backend, KvLayer } from '../kernels/backend.js';
import type { GemmaConfig } from './config.js';

export class KvCache {
  readonly layers: KvLayer[];
  /** number of positions written so far (the next token's position) */
  length = 0;

  constructor(readonly backend: Backend, readonly config: GemmaConfig, readonly contextLength: number, prefillChunk: number) {
    const kvDim = config.numKvHeads * config.headDim;
    const layers: KvLayer[] = [];
    try {
      for (const t of config.layerTypes) {
        // a sliding layer needs its window plus the rows of one prefill chunk that are written before attending
        const cap = t === 'sliding' && config.slidingWindow !== null
          ? Math.min(contextLength, config.slidingWindow + prefillChunk - 1)
          : contextLength;
        layers.push(backend.createKvLayer(cap, kvDim));
      }
    } catch (e) {
      // out of memory part-way: give back the layers made so far (the backend keeps nothing)
      for (const l of layers) backend.freeKvLayer(l);
      throw e;
    }
    this.layers = layers;
  }

  /**
   * Forget positions >= n so they can be recomputed. A ring-buffer layer may already have
   * overwritten older positions that position n would need; then the cache keeps nothing
   * and the caller recomputes from 0. Returns the length actually kept.
   */
  truncate(n: number): number {
    if (n >= this.length) return this.length;
    const W = this.config.slidingWindow ?? 0;
    for (const l of this.layers) {
      // after `length` writes, slots hold positions >= length - capacity; position n needs n-W+1..n-1
      if (l.capacity < this.contextLength && this.length - l.capacity > n - W) { this.length = 0; return 0; }
    }
    this.length = n;
    return n;
  }

  dispose(): void { for (const l of this.layers) this.backend.freeKvLayer(l); }
}
