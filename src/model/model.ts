/**
 * A loaded Gemma model: config + weights on a backend, with KV caches, chunked prefill
 * and the logits entry points. Generation and chat build on `eval`.
 */
import { GemmaError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import type { GemmaConfig } from './config.js';
import { forward, type ForwardOptions } from './forward.js';
import { KvCache } from './kv-cache.js';
import { allWeights, type ModelWeights } from './weights.js';

export interface ModelOptions {
  /** context length of new caches (default: min(config.maxPositions, 4096)) */
  contextLength?: number;
  /** prefill is split into chunks of at most this many tokens (default 128) */
  prefillChunk?: number;
}

export class GemmaModel {
  readonly contextLength: number;
  readonly prefillChunk: number;
  private disposed = false;

  constructor(readonly config: GemmaConfig, readonly backend: Backend, readonly weights: ModelWeights, opts: ModelOptions = {}) {
    this.contextLength = Math.min(opts.contextLength ?? Math.min(config.maxPositions, 4096), config.maxPositions);
    if (!(this.contextLength >= 1)) throw new GemmaError('BAD_ARGUMENT', `contextLength must be >= 1`);
    this.prefillChunk = Math.max(1, Math.min(opts.prefillChunk ?? 128, this.contextLength));
  }

  newCache(contextLength = this.contextLength): KvCache {
    this.checkAlive();
    if (contextLength > this.config.maxPositions) throw new GemmaError('BAD_ARGUMENT', `context ${contextLength} exceeds the model's ${this.config.maxPositions} positions`);
    return new KvCache(this.backend, this.config, contextLength, this.prefillChunk);
  }

  /**
   * Append `tokens` to `cache` and return logits: [vocab] for the last token, or
   * [tokens.length * vocab] with allLogits.
   */
  async eval(tokens: ArrayLike<number>, cache: KvCache, opts: ForwardOptions = {}): Promise<Float32Array> {
    this.checkAlive();
    const ids = Int32Array.from(tokens as ArrayLike<number>);
    if (cache.length + ids.length > cache.contextLength) {
      throw new GemmaError('CONTEXT_OVERFLOW', `${cache.length} cached + ${ids.length} new tokens exceed the context length ${cache.contextLength}`);
    }
    const V = this.config.vocabSize;
    const out = new Float32Array(opts.allLogits ? ids.length * V : V);
    for (let s = 0; s < ids.length; s += this.prefillChunk) {
      const chunk = ids.subarray(s, Math.min(ids.length, s + this.prefillChunk));
      const isLast = s + chunk.length === ids.length;
      if (!opts.allLogits && !isLast) {
        // logits of intermediate chunks are not needed: still run the model to fill the cache
        const { logits } = await forward(this.backend, this.config, this.weights, cache, chunk, { ...opts, allLogits: false });
        this.backend.freeTensor(logits);
        continue;
      }
      const { logits } = await forward(this.backend, this.config, this.weights, cache, chunk, opts);
      const data = await this.backend.download(logits);
      this.backend.freeTensor(logits);
      out.set(data, opts.allLogits ? s * V : 0);
    }
    return out;
  }

  /** Logits for a token sequence from a fresh cache. */
  async logits(tokens: ArrayLike<number>, opts: ForwardOptions = {}): Promise<Float32Array> {
    const cache = this.newCache(Math.max(Math.min(this.contextLength, this.config.maxPositions), tokens.length));
    try {
      return await this.eval(tokens, cache, opts);
    } finally {
      cache.dispose();
    }
  }

  /** Greedy next token after appending `tokens` (argmax on the backend: one id read back). */
  async nextGreedy(tokens: ArrayLike<number>, cache: KvCache): Promise<number> {
    this.checkAlive();
    const ids = Int32Array.from(tokens as ArrayLike<number>);
    let id = -1;
    for (let s = 0; s < ids.length; s += this.prefillChunk) {
      const chunk = ids.subarray(s, Math.min(ids.length, s + this.prefillChunk));
      const { logits } = await forward(this.backend, this.config, this.weights, cache, chunk);
      if (s + chunk.length === ids.length) id = (await this.backend.argmax(logits))[0]!;
      this.backend.freeTensor(logits);
    }
    return id;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of allWeights(this.weights)) this.backend.freeWeight(w);
    this.backend.dispose();
  }

  private checkAlive(): void {
    if (this.disposed) throw new GemmaError('BAD_ARGUMENT', 'the model was disposed');
  }
}
