/**
 * A KV cache together with the token ids it holds: the unit of prefix re-use.
 *
 *   cached ids   a b c d e f
 *   new prompt   a b c x y        common prefix 3 → truncate(3) → evaluate only [x, y]
 *
 * Invariant: cache.length === ids.length. A ring-buffer (sliding-window) layer may make
 * `truncate` keep less than asked (it returns what it kept, possibly 0); then more is
 * recomputed. Any error leaves the context empty rather than half-written.
 */
import { GemmaError } from '../errors.js';
import type { ForwardOptions } from '../model/forward.js';
import type { KvCache } from '../model/kv-cache.js';
import type { GemmaModel } from '../model/model.js';

export interface PrefillResult {
  /** logits after the last prompt token (absent when `greedy` gave the id directly) */
  logits?: Float32Array;
  /** argmax id when `greedy` was asked */
  greedyId?: number;
  /** prompt tokens taken from the cache */
  reused: number;
  /** prompt tokens run through the model */
  evaluated: number;
}

export interface StepOptions {
  signal?: AbortSignal;
  /** argmax on the backend, no logits read back */
  greedy?: boolean;
  onLayer?: ForwardOptions['onLayer'];
}

export function commonPrefixLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class KvContext {
  /** ids whose K/V are in the cache, in order */
  ids: number[] = [];
  /** total tokens run through the model by this context (for tests and stats) */
  evaluatedTotal = 0;
  private disposed = false;

  constructor(readonly model: GemmaModel, readonly cache: KvCache) {}

  get contextLength(): number { return this.cache.contextLength; }

  /**
   * Make the cache hold `prompt` and return the logits after its last token, re-using the
   * longest cached prefix. At least the last prompt token is always evaluated (its logits
   * are not cached). Checks `signal` between prefill chunks.
   */
  async prefill(prompt: readonly number[], opts: StepOptions = {}): Promise<PrefillResult> {
    this.checkAlive();
    if (prompt.length === 0) throw new GemmaError('BAD_ARGUMENT', 'the prompt has no tokens');
    if (prompt.length > this.contextLength) {
      throw new GemmaError('CONTEXT_OVERFLOW', `the prompt has ${prompt.length} tokens; the context holds ${this.contextLength}`);
    }
    const common = Math.min(commonPrefixLength(this.ids, prompt), prompt.length - 1);
    const kept = this.cache.truncate(common);
    this.ids.length = kept;
    const rest = prompt.slice(kept);
    const chunk = this.model.prefillChunk;
    let out: PrefillResult = { reused: kept, evaluated: rest.length };
    try {
      for (let s = 0; s < rest.length; s += chunk) {
        if (opts.signal?.aborted) throw abortError();
        const part = rest.slice(s, s + chunk);
        const last = s + part.length === rest.length;
        if (last) out = { ...out, ...(await this.evalPart(part, opts)) };
        else await this.model.eval(part, this.cache, { onLayer: opts.onLayer });
        this.ids.push(...part);
        this.evaluatedTotal += part.length;
      }
    } catch (e) {
      this.reset();
      throw e;
    }
    return out;
  }

  /** Append one token; returns the next logits (or the argmax id with `greedy`). */
  async step(id: number, opts: StepOptions = {}): Promise<{ logits?: Float32Array; greedyId?: number }> {
    this.checkAlive();
    if (this.ids.length + 1 > this.contextLength) throw new GemmaError('CONTEXT_OVERFLOW', `the context of ${this.contextLength} tokens is full`);
    try {
      const r = await this.evalPart([id], opts);
      this.ids.push(id);
      this.evaluatedTotal += 1;
      return r;
    } catch (e) {
      this.reset();
      throw e;
    }
  }

  private async evalPart(part: number[], opts: StepOptions): Promise<{ logits?: Float32Array; greedyId?: number }> {
    if (opts.greedy && !opts.onLayer) return { greedyId: await this.model.nextGreedy(part, this.cache) };
    return { logits: await this.model.eval(part, this.cache, { onLayer: opts.onLayer }) };
  }

  /** Forget everything (the buffers stay allocated). */
  reset(): void { this.cache.truncate(0); this.cache.length = 0; this.ids = []; }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache.dispose();
  }

  private checkAlive(): void {
    if (this.disposed) throw new GemmaError('BAD_ARGUMENT', 'this context (chat session) was disposed');
  }
}

export function abortError(): GemmaError {
  return new GemmaError('ABORTED', 'the generation was aborted');
}
