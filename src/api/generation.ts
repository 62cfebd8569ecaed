/**
 * One generation: an async iterator of text chunks that is also a promise of the final
 * result.
 *
 *   for await (const chunk of model.generate('Hello')) process.stdout.write(chunk);
 *   const result = await model.generate('Hello');          // GenerateResult
 *   const g = model.generate('Hello'); ...; (await g.result).tokensPerSecond
 *
 * Leaving a `for await` loop early (break / return / throw) aborts the generation, as does
 * `g.abort()` or the `signal` option; the result then has finishReason 'abort'.
 */
import { GemmaError } from '../errors.js';

export type FinishReason = 'stop' | 'length' | 'abort';

export interface TokenLogprob {
  id: number;
  /** the token's text (a byte token gives its byte as a Latin-1 character) */
  token: string;
  /** UTF-8 bytes of the token */
  bytes: number[];
  /** natural-log probability under the model (raw logits: before penalties and temperature) */
  logprob: number;
  /** the most likely tokens at this position, best first */
  top: { id: number; token: string; bytes: number[]; logprob: number }[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** prompt tokens whose K/V were re-used from the cache (not recomputed) */
  cachedTokens: number;
}

export interface Timings {
  /** waiting for other generations on the same model */
  queuedMs: number;
  /** evaluating the prompt (the uncached part) */
  prefillMs: number;
  /** sampling and evaluating the generated tokens */
  decodeMs: number;
  totalMs: number;
  /** uncached prompt tokens per second of prefill */
  promptTokensPerSecond: number;
  /** generated tokens per second of decoding */
  tokensPerSecond: number;
}

export interface GenerateResult {
  /** generated text (stop strings and stop tokens excluded) */
  text: string;
  /** generated token ids (the stop token excluded) */
  tokens: number[];
  finishReason: FinishReason;
  /** the stop token or stop string that ended it, when finishReason is 'stop' */
  stoppedBy?: { token: number } | { string: string };
  usage: Usage;
  timings: Timings;
  /** = timings.tokensPerSecond */
  tokensPerSecond: number;
  /** the seed used (pass it back to reproduce a sampled output) */
  seed: number;
  /** with the logprobs option: one entry per generated token */
  logprobs?: TokenLogprob[];
}

type Runner<R> = (emit: (text: string) => void, signal: AbortSignal) => Promise<R>;

export class Generation<R = GenerateResult> implements AsyncIterable<string>, PromiseLike<R> {
  /** the final result; resolves after the last chunk */
  readonly result: Promise<R>;
  private readonly chunks: string[] = [];
  private ended = false;
  private failure: unknown = undefined;
  private waiters: (() => void)[] = [];
  private readonly ctl = new AbortController();

  constructor(run: Runner<R>, signal?: AbortSignal) {
    const onAbort = () => this.ctl.abort(signal?.reason);
    if (signal?.aborted) this.ctl.abort(signal.reason);
    else signal?.addEventListener('abort', onAbort, { once: true });
    const emit = (t: string) => { if (t) { this.chunks.push(t); this.wakeAll(); } };
    this.result = (async () => {
      try {
        return await run(emit, this.ctl.signal);
      } catch (e) {
        this.failure = e;
        throw e;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        this.ended = true;
        this.wakeAll();
      }
    })();
    // a caller that only iterates still sees errors through the iterator
    this.result.catch(() => {});
  }

  /** Stop generating; the result's finishReason becomes 'abort'. */
  abort(): void { this.ctl.abort(); }

  then<A = R, B = never>(ok?: ((v: R) => A | PromiseLike<A>) | null, fail?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.result.then(ok, fail);
  }

  /** All the text, once finished. */
  async text(): Promise<string> { await this.result.catch(() => {}); this.rethrow(); return this.chunks.join(''); }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    let i = 0;
    return {
      next: async (): Promise<IteratorResult<string>> => {
        for (;;) {
          if (i < this.chunks.length) return { value: this.chunks[i++]!, done: false };
          if (this.ended) { this.rethrow(); return { value: undefined, done: true }; }
          await new Promise<void>((r) => this.waiters.push(r));
        }
      },
      return: async (): Promise<IteratorResult<string>> => {
        if (!this.ended) this.abort();
        return { value: undefined, done: true };
      },
    };
  }

  private rethrow(): void { if (this.failure !== undefined) throw this.failure; }

  private wakeAll(): void { const w = this.waiters; this.waiters = []; for (const f of w) f(); }
}

/** FIFO of work on one model: generations run one at a time, never interleaved in a cache. */
export class TaskQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** maxWaiting: how many may wait behind the running one before BUSY (Infinity = no limit) */
  constructor(private readonly maxWaiting = Infinity) {}

  get size(): number { return this.pending; }

  /**
   * Run `fn` when the earlier tasks are done. If `signal` aborts while waiting, `onAbortedWait`
   * gives the result at once (the slot is still released in order).
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal, onAbortedWait?: () => T): Promise<T> {
    if (this.pending > 0 && this.pending - 1 >= this.maxWaiting) {
      throw new GemmaError('BUSY', `the model is busy (${this.pending - 1} requests already waiting)`);
    }
    this.pending++;
    const prev = this.tail;
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    this.tail = prev.then(() => mine);
    const done = () => { this.pending--; release(); };
    if (signal && onAbortedWait) {
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<'aborted'>((r) => {
        if (signal.aborted) r('aborted');
        else { onAbort = () => r('aborted'); signal.addEventListener('abort', onAbort, { once: true }); }
      });
      const first = await Promise.race([prev.then(() => 'turn' as const), aborted]);
      if (onAbort) signal.removeEventListener('abort', onAbort);
      if (first === 'aborted') { void prev.then(done); return onAbortedWait(); }
    } else {
      await prev;
    }
    try {
      return await fn();
    } finally {
      done();
    }
  }
}
