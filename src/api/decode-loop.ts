/**
 * The generation loop over a KvContext:
 *
 *   prefill(prompt) → logits ─┐
 *        ┌────────────────────┘
 *        └→ sample id ─ stop id? ─ stream-decode ─ stop string? ─ maxTokens / context full / abort? ─ step(id) → logits ─┐
 *             ↑───────────────────────────────────────────────────────────────────────────────────────────────────────┘
 *
 * The last sampled token is never evaluated (nothing needs its logits), so the context ends
 * holding prompt + output minus the last token; the next prompt re-uses that prefix.
 */
import { GemmaError, isGemmaError } from '../errors.js';
import type { ForwardOptions } from '../model/forward.js';
import type { GemmaTokenizer } from '../tokenizer/index.js';
import type { FinishReason, GenerateResult, TokenLogprob } from './generation.js';
import type { KvContext } from './kv-context.js';
import { isPureGreedy, logSoftmax, resolveSampling, Sampler, type SamplingOptions, topIndices } from './sampler.js';
import { normalizeStops, StopMatcher } from './stop-strings.js';

export interface GenerateOptions extends SamplingOptions {
  /** most tokens to generate (default 256; the context length also bounds it) */
  maxTokens?: number;
  /** stop when the text contains one of these (the stop string is not returned) */
  stop?: string | string[];
  /** extra stop token ids (the tokenizer's <eos> and <end_of_turn> always stop unless ignoreEos) */
  stopTokens?: number[];
  /** keep generating through <eos>/<end_of_turn> */
  ignoreEos?: boolean;
  signal?: AbortSignal;
  /** return log-probabilities: true = of the chosen token, N = also the top N alternatives */
  logprobs?: boolean | number;
  /** text prompts: prepend <bos> (default true) */
  addBos?: boolean;
  /** prompts that fill the context: 'error' (default, CONTEXT_OVERFLOW) or 'start' (drop the oldest tokens after <bos>, leaving room for min(maxTokens, context/2) new ones) */
  truncate?: 'error' | 'start';
  /** called for every generated token, before its text is emitted */
  onToken?: (id: number) => void;
}

export const DEFAULT_MAX_TOKENS = 256;
const MAX_LOGPROBS = 20;

export interface LoopDeps {
  ctx: KvContext;
  tokenizer?: GemmaTokenizer;
  onLayer?: ForwardOptions['onLayer'];
  /** ms spent waiting in the queue */
  queuedMs: number;
}

function now(): number { return globalThis.performance?.now() ?? Date.now(); }

/**
 * A prompt must leave room in the context for at least one more token. One that does not:
 * 'error' → CONTEXT_OVERFLOW; 'start' → keep <bos> and the most recent tokens, leaving room
 * for min(maxTokens, contextLength / 2) generated tokens.
 */
export function fitPrompt(prompt: number[], contextLength: number, policy: 'error' | 'start', bosId: number | undefined, maxTokens: number): number[] {
  if (prompt.length < contextLength) return prompt;
  if (policy !== 'start') {
    throw new GemmaError('CONTEXT_OVERFLOW', `the prompt has ${prompt.length} tokens but the context holds ${contextLength} (prompt + output); shorten it, raise contextLength, or pass truncate: 'start'`);
  }
  const keepBos = bosId !== undefined && prompt[0] === bosId ? 1 : 0;
  const keep = contextLength - Math.max(1, Math.min(maxTokens, Math.floor(contextLength / 2))) - keepBos;
  return [...prompt.slice(0, keepBos), ...prompt.slice(prompt.length - keep)];
}

function tokenBytes(tok: GemmaTokenizer | undefined, id: number): { token: string; bytes: number[] } {
  const piece = tok?.idToPiece(id);
  if (piece === undefined) return { token: '', bytes: [] };
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  if (m && tok!.types[id] === 6) { const b = parseInt(m[1]!, 16); return { token: String.fromCharCode(b), bytes: [b] }; }
  const token = piece.replaceAll('\u2581', ' ');
  return { token, bytes: [...new TextEncoder().encode(token)] };
}

export function logprobEntry(tok: GemmaTokenizer | undefined, lsm: Float64Array, id: number, topN: number): TokenLogprob {
  const top = topN > 0 ? topIndices(lsm, topN).map((t) => ({ id: t, ...tokenBytes(tok, t), logprob: lsm[t]! })) : [];
  return { id, ...tokenBytes(tok, id), logprob: lsm[id]!, top };
}

export async function runGeneration(prompt: number[], opts: GenerateOptions, deps: LoopDeps, emit: (t: string) => void, signal: AbortSignal): Promise<GenerateResult> {
  const { ctx, tokenizer } = deps;
  const t0 = now();
  const sampling = resolveSampling(opts);
  const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new GemmaError('BAD_ARGUMENT', `maxTokens = ${maxTokens} must be a non-negative integer`, { field: 'maxTokens' });
  const topN = opts.logprobs === true ? 0 : typeof opts.logprobs === 'number' ? opts.logprobs : -1;
  if (topN > MAX_LOGPROBS || (typeof opts.logprobs === 'number' && !(Number.isInteger(topN) && topN >= 0))) {
    throw new GemmaError('BAD_ARGUMENT', `logprobs must be true or an integer 0..${MAX_LOGPROBS}`, { field: 'logprobs' });
  }
  const stops = normalizeStops(opts.stop);
  const stopIds = new Set<number>(opts.ignoreEos ? [] : tokenizer?.stopIds ?? []);
  for (const id of opts.stopTokens ?? []) stopIds.add(id);
  for (const id of prompt) {
    if (!Number.isInteger(id) || id < 0 || id >= ctx.model.config.vocabSize) throw new GemmaError('BAD_ARGUMENT', `token id ${id} is outside the vocabulary (${ctx.model.config.vocabSize})`);
  }
  prompt = fitPrompt(prompt, ctx.contextLength, opts.truncate ?? 'error', tokenizer?.bosId, maxTokens);

  const greedy = isPureGreedy(sampling) && topN < 0 && !deps.onLayer;
  const sampler = new Sampler(sampling);
  const recent = [...prompt];
  const out: number[] = [];
  const logprobs: TokenLogprob[] = [];
  let text = '';
  let finishReason: FinishReason = 'length';
  let stoppedBy: GenerateResult['stoppedBy'];
  let prefillMs = 0, decodeSteps = 0, cached = 0;
  const tPrefill = now();
  let tDecode = tPrefill;

  const decoder = tokenizer?.createStreamDecoder({ skipSpecial: true });
  // prime the decoder with the prompt so a leading space of the continuation is kept
  if (decoder) for (const id of prompt) decoder.push(id);
  const stopper = new StopMatcher(stops);
  const say = (s: string) => { if (s) { text += s; emit(s); } };

  try {
    if (maxTokens === 0) {
      finishReason = 'length';
    } else {
      const pre = await ctx.prefill(prompt, { signal, greedy, onLayer: deps.onLayer });
      cached = pre.reused;
      tDecode = now();
      prefillMs = tDecode - tPrefill;
      let next: { logits?: Float32Array; greedyId?: number } = pre;
      for (;;) {
        let id: number;
        if (next.greedyId !== undefined) id = next.greedyId;
        else {
          const logits = next.logits!;
          if (topN >= 0) {
            const lsm = logSoftmax(logits);
            id = sampler.sample(logits, recent);
            logprobs.push(logprobEntry(tokenizer, lsm, id, topN));
          } else id = sampler.sample(logits, recent);
        }
        if (stopIds.has(id)) { finishReason = 'stop'; stoppedBy = { token: id }; if (topN >= 0) logprobs.pop(); break; }
        out.push(id);
        recent.push(id);
        opts.onToken?.(id);
        if (decoder) {
          const r = stopper.push(decoder.push(id));
          say(r.emit);
          if (r.hit !== undefined) { finishReason = 'stop'; stoppedBy = { string: r.hit }; break; }
        }
        if (out.length >= maxTokens) { finishReason = 'length'; break; }
        if (ctx.ids.length + 1 > ctx.contextLength) { finishReason = 'length'; break; }
        if (signal.aborted) { finishReason = 'abort'; break; }
        next = await ctx.step(id, { greedy, onLayer: deps.onLayer });
        decodeSteps++;
      }
    }
  } catch (e) {
    if (!(isGemmaError(e, 'ABORTED') && signal.aborted)) throw e;
    finishReason = 'abort';
    if (prefillMs === 0) { tDecode = now(); prefillMs = tDecode - tPrefill; }
  }
  const hitString = stoppedBy !== undefined && 'string' in stoppedBy;
  if (decoder && !hitString) {
    const r = stopper.push(decoder.flush());
    say(r.emit);
    if (r.hit !== undefined) { finishReason = 'stop'; stoppedBy = { string: r.hit }; } else say(stopper.flush());
  }
  const tEnd = now();
  const decodeMs = tEnd - tDecode;
  const evaluatedPrompt = prompt.length - cached;
  const tps = decodeSteps > 0 && decodeMs > 0 ? (decodeSteps * 1000) / decodeMs : out.length > 0 ? (out.length * 1000) / Math.max(tEnd - tPrefill, 1e-3) : 0;
  const result: GenerateResult = {
    text, tokens: out, finishReason,
    usage: { promptTokens: prompt.length, completionTokens: out.length, totalTokens: prompt.length + out.length, cachedTokens: cached },
    timings: {
      queuedMs: deps.queuedMs, prefillMs, decodeMs, totalMs: tEnd - t0 + deps.queuedMs,
      promptTokensPerSecond: prefillMs > 0 ? (evaluatedPrompt * 1000) / prefillMs : 0,
      tokensPerSecond: tps,
    },
    tokensPerSecond: tps,
    seed: sampling.seed,
  };
  if (stoppedBy) result.stoppedBy = stoppedBy;
  if (topN >= 0) result.logprobs = logprobs;
  return result;
}
