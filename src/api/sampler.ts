/**
 * Choosing the next token from logits, in llama.cpp's order:
 *
 *   logits ─ penalties (repetition, presence, frequency over the last N tokens)
 *          ─ temperature 0 → argmax (greedy)
 *          ─ top-k ─ softmax(l / T) ─ top-p ─ min-p ─ renormalise ─ draw with a seeded PRNG
 *
 * Penalties, as llama.cpp and HF apply them (count c of a token among the last N ids):
 *   repetition r (CTRL paper): l > 0 ? l / r : l * r          (once per distinct token)
 *   presence  a, frequency b (OpenAI):  l -= a * [c > 0] + b * c
 * Top-p keeps the smallest prefix of the sorted distribution whose mass reaches p; min-p keeps
 * tokens with p_i >= minP * p_max. At least one token always survives.
 */
import { GemmaError } from '../errors.js';
import { mulberry32 } from '../util/rng.js';

export interface SamplingOptions {
  /** softmax temperature; 0 = greedy (argmax). Default 0.8 */
  temperature?: number;
  /** keep the k most likely tokens (0 = off). Default 40 */
  topK?: number;
  /** nucleus sampling mass (1 = off). Default 0.95 */
  topP?: number;
  /** drop tokens below minP * p(best) (0 = off). Default 0.05 */
  minP?: number;
  /** CTRL-style repetition penalty (1 = off). Default 1 */
  repetitionPenalty?: number;
  /** OpenAI presence penalty (0 = off) */
  presencePenalty?: number;
  /** OpenAI frequency penalty (0 = off) */
  frequencyPenalty?: number;
  /** penalties look at this many most recent tokens, prompt included (default 64; -1 = all) */
  penaltyLastN?: number;
  /** PRNG seed: the same seed, prompt and options give the same output. Default: random */
  seed?: number;
}

export interface ResolvedSampling {
  temperature: number; topK: number; topP: number; minP: number;
  repetitionPenalty: number; presencePenalty: number; frequencyPenalty: number; penaltyLastN: number;
  seed: number;
}

export const SAMPLING_DEFAULTS = {
  temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05,
  repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, penaltyLastN: 64,
} as const;

function check(name: string, v: number, ok: boolean): number {
  if (!ok || !Number.isFinite(v)) throw new GemmaError('BAD_ARGUMENT', `${name} = ${v} is out of range`, { field: name });
  return v;
}

export function randomSeed(): number {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0]!;
  return Math.floor(Math.random() * 2 ** 32);
}

export function resolveSampling(o: SamplingOptions = {}): ResolvedSampling {
  const d = SAMPLING_DEFAULTS;
  const t = o.temperature ?? d.temperature, k = o.topK ?? d.topK, p = o.topP ?? d.topP, m = o.minP ?? d.minP;
  const rp = o.repetitionPenalty ?? d.repetitionPenalty, pp = o.presencePenalty ?? d.presencePenalty, fp = o.frequencyPenalty ?? d.frequencyPenalty;
  const n = o.penaltyLastN ?? d.penaltyLastN;
  const seed = o.seed ?? randomSeed();
  return {
    temperature: check('temperature', t, t >= 0),
    topK: check('topK', k, Number.isInteger(k) && k >= 0),
    topP: check('topP', p, p > 0 && p <= 1),
    minP: check('minP', m, m >= 0 && m <= 1),
    repetitionPenalty: check('repetitionPenalty', rp, rp > 0),
    presencePenalty: check('presencePenalty', pp, pp >= -2 && pp <= 2),
    frequencyPenalty: check('frequencyPenalty', fp, fp >= -2 && fp <= 2),
    penaltyLastN: check('penaltyLastN', n, Number.isInteger(n) && n >= -1),
    seed: check('seed', seed, Number.isInteger(seed)) >>> 0,
  };
}

/** Whether the sampler reduces to argmax of the raw logits (no penalties, temperature 0). */
export function isPureGreedy(s: ResolvedSampling): boolean {
  return s.temperature === 0 && s.repetitionPenalty === 1 && s.presencePenalty === 0 && s.frequencyPenalty === 0;
}

/** index of the largest value (first one on ties), as the backends' argmax */
export function argmax(x: ArrayLike<number>): number {
  let best = 0, bv = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > bv) { bv = x[i]!; best = i; }
  return best;
}

/** In place: apply the penalties to `logits` given the recent token ids. */
export function applyPenalties(logits: Float32Array, recent: ArrayLike<number>, s: ResolvedSampling): void {
  if (s.repetitionPenalty === 1 && s.presencePenalty === 0 && s.frequencyPenalty === 0) return;
  const counts = new Map<number, number>();
  const from = s.penaltyLastN < 0 ? 0 : Math.max(0, recent.length - s.penaltyLastN);
  for (let i = from; i < recent.length; i++) counts.set(recent[i]!, (counts.get(recent[i]!) ?? 0) + 1);
  for (const [id, c] of counts) {
    if (id < 0 || id >= logits.length) continue;
    let l = logits[id]!;
    if (s.repetitionPenalty !== 1) l = l > 0 ? l / s.repetitionPenalty : l * s.repetitionPenalty;
    l -= s.presencePenalty + s.frequencyPenalty * c;
    logits[id] = l;
  }
}

/** Indices of the k largest values, sorted by value desc then index asc (k >= length: all). */
export function topIndices(x: ArrayLike<number>, k: number): number[] {
  const n = x.length;
  if (k <= 0 || k >= n) {
    const all = Array.from({ length: n }, (_, i) => i);
    return all.sort((a, b) => x[b]! - x[a]! || a - b);
  }
  // min-heap of the best k so far, ordered by (value asc, index desc) so the root is the worst kept
  const heap: number[] = [];
  const worse = (a: number, b: number) => x[a]! < x[b]! || (x[a]! === x[b]! && a > b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let i = 0; i < n; i++) {
    if (heap.length < k) {
      heap.push(i);
      for (let j = heap.length - 1; j > 0;) {
        const p = (j - 1) >> 1;
        if (!worse(heap[j]!, heap[p]!)) break;
        [heap[j], heap[p]] = [heap[p]!, heap[j]!];
        j = p;
      }
    } else if (worse(heap[0]!, i)) { heap[0] = i; down(0); }
  }
  return heap.sort((a, b) => x[b]! - x[a]! || a - b);
}

/**
 * Without top-k, sorting a 262k vocabulary every token is slow. Only tokens that can survive
 * top-p / min-p need sorting: with q_i = exp((l_i - max) / T) (unnormalised), any threshold
 * t with Σ_{q_i ≥ t} q_i ≥ topP · Σ q_i holds the whole top-p prefix (those tokens sort first
 * and already reach the mass), and min-p keeps only q_i ≥ minP (q_max = 1). Lower t by 2^-4
 * until that holds. Returns the ids to sort (all of them when nothing can be cut).
 */
function candidatesWithoutTopK(logits: Float32Array, s: ResolvedSampling): { ids: number[]; total: number } | undefined {
  if (s.topP >= 1 && s.minP <= 0) return undefined;
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
  const q = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) { q[i] = Math.exp((logits[i]! - max) / s.temperature); total += q[i]!; }
  for (let t = Math.max(s.minP, 1e-3); ; t /= 16) {
    const cut = Math.max(t, s.minP);
    let mass = 0;
    const ids: number[] = [];
    for (let i = 0; i < n; i++) if (q[i]! >= cut) { ids.push(i); mass += q[i]!; }
    if (mass >= s.topP * total || cut === s.minP || t < 1e-30) return { ids, total };
  }
}

/** The distribution the sampler draws from: candidate ids and their probabilities (sum 1). */
export function samplingDistribution(logits: Float32Array, s: ResolvedSampling): { ids: number[]; probs: Float64Array } {
  // top-k is a real filter (probabilities renormalised over the k); the pre-selection is not
  const pre = s.topK <= 0 || s.topK >= logits.length ? candidatesWithoutTopK(logits, s) : undefined;
  const ids = pre ? pre.ids.sort((a, b) => logits[b]! - logits[a]! || a - b) : topIndices(logits, s.topK);
  // softmax(l / T) (ids sorted desc, so ids[0] holds the max)
  const max = logits[ids[0]!]!;
  let probs = new Float64Array(ids.length);
  let sum = 0;
  for (let i = 0; i < ids.length; i++) { const e = Math.exp((logits[ids[i]!]! - max) / s.temperature); probs[i] = e; sum += e; }
  if (pre) sum = pre.total;
  for (let i = 0; i < ids.length; i++) probs[i]! /= sum;
  let keep = ids.length;
  if (s.topP < 1) {
    let cum = 0;
    for (let i = 0; i < keep; i++) { cum += probs[i]!; if (cum >= s.topP) { keep = i + 1; break; } }
  }
  if (s.minP > 0) {
    const cut = s.minP * probs[0]!;
    let i = 1;
    while (i < keep && probs[i]! >= cut) i++;
    keep = i;
  }
  const outIds = ids.slice(0, keep);
  probs = probs.slice(0, keep);
  let z = 0;
  for (let i = 0; i < keep; i++) z += probs[i]!;
  for (let i = 0; i < keep; i++) probs[i]! /= z;
  return { ids: outIds, probs };
}

/** A sampler bound to one generation: owns its PRNG stream. */
export class Sampler {
  private readonly rand: () => number;
  constructor(readonly opts: ResolvedSampling) { this.rand = mulberry32(opts.seed); }

  /** Pick the next id. `logits` is modified (penalties); `recent` = ids so far (prompt + output). */
  sample(logits: Float32Array, recent: ArrayLike<number>): number {
    applyPenalties(logits, recent, this.opts);
    if (this.opts.temperature === 0) return argmax(logits);
    const { ids, probs } = samplingDistribution(logits, this.opts);
    const u = this.rand();
    let cum = 0;
    for (let i = 0; i < ids.length; i++) { cum += probs[i]!; if (u < cum) return ids[i]!; }
    return ids[ids.length - 1]!;
  }
}

/** log-softmax of one logits row, in f64 */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i]! - max);
  const lse = max + Math.log(s);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
  return out;
}
