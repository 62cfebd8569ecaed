/**
 * The quantization lab's report: how much a quantization scheme costs in accuracy and saves
 * in bytes, measured on the model itself.
 *
 * For a source model (stored f32/f16/bf16, or already quantized) and a list of schemes:
 *   per tensor   RMSE and max |error| of the re-encoded weights against the stored source
 *                values, and RMSE relative to the tensor's RMS;
 *   end to end   over a set of prompts, at every position, the next-token distribution of the
 *                quantized model Q against the source model P computed in f32 maths:
 *                  KL(P || Q) = sum_v p(v) (log p(v) - log q(v))      (mean and max over positions)
 *                  top-1 agreement = share of positions where argmax q = argmax p;
 *                and the perplexity exp(-mean log q(t_{i+1} | t_0..t_i)) on a text;
 *   size         bytes of all tensors in the scheme (norms as f32, as in a GGUF) and
 *                bits per weight = 8 * bytes / parameters.
 * Each model is loaded, evaluated and disposed in turn, so memory holds one quantized copy.
 */
import { logSoftmax as logSoftmaxInto } from '../kernels/reference/ops.js';
import type { Backend } from '../kernels/backend.js';
import { ReferenceBackend } from '../kernels/reference/index.js';
import { loadWeights, lookupTensor } from '../model/load-weights.js';
import { GemmaModel } from '../model/model.js';
import { tensorSpecs } from '../model/weights.js';
import { GemmaError } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { getCodec } from './index.js';
import type { QuantPolicy } from './policy.js';
import { resolvePolicy } from './policy.js';
import { quantizeTransform, type SourceTensors, type TensorQuantRecord } from './quantize-model.js';

export interface QuantReportOptions {
  /** schemes to compare: recipe names, compact specs ('q8_0+ffn_=q4_k') or policy objects */
  schemes: (string | QuantPolicy)[];
  /** token id sequences; next-token distributions are compared at every position of each */
  prompts: number[][];
  /** token ids of a text for perplexity (omit to skip) */
  textTokens?: number[];
  /** backend for every model (default: the exact reference backend) */
  backend?: () => Backend;
  /** progress messages */
  onProgress?: (message: string) => void;
}

export interface TensorReport {
  name: string;
  shape: number[];
  source: DType;
  scheme: string;
  /** the scheme before the block-size fallback, when the fallback changed it */
  fallbackFrom?: string;
  bitsPerWeight: number;
  bytes: number;
  rmse: number;
  maxAbs: number;
  /** rmse / RMS of the source values */
  relRmse: number;
}

export interface SchemeReport {
  label: string;
  /** bytes of all tensors */
  bytes: number;
  bitsPerWeight: number;
  /** pooled RMSE over all re-encoded weight matrices */
  weightRmse: number;
  meanKl: number;
  maxKl: number;
  /** share of positions whose top token agrees with the source model's */
  top1: number;
  perplexity?: number;
  tensors: TensorReport[];
}

export interface QuantReport {
  model: string;
  params: number;
  /** positions compared (sum over prompts) */
  positions: number;
  textTokens: number;
  source: { bytes: number; bitsPerWeight: number; perplexity?: number };
  schemes: SchemeReport[];
}

/** log-softmax of one row, in double (the reference backend's) */
function logSoftmax(x: Float32Array, off: number, n: number): Float64Array {
  const out = new Float64Array(n);
  logSoftmaxInto(x, off, n, out);
  return out;
}

function argmax(x: Float64Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** KL(P || Q) from log-probabilities */
export function klDivergence(logP: Float64Array, logQ: Float64Array): number {
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]!);
    if (p > 0) kl += p * (logP[i]! - logQ[i]!);
  }
  return Math.max(0, kl);
}

interface Evaluation {
  /** per prompt, per position: log-probabilities of the next token */
  logProbs: Float64Array[][];
  perplexity?: number;
}

async function evaluate(model: GemmaModel, prompts: number[][], text: number[] | undefined): Promise<Evaluation> {
  const V = model.config.vocabSize;
  const logProbs: Float64Array[][] = [];
  for (const p of prompts) {
    const logits = await model.logits(p, { allLogits: true });
    logProbs.push(Array.from({ length: p.length }, (_, i) => logSoftmax(logits, i * V, V)));
  }
  let perplexity: number | undefined;
  if (text && text.length >= 2) {
    const logits = await model.logits(text, { allLogits: true });
    let nll = 0;
    for (let i = 0; i + 1 < text.length; i++) nll -= logSoftmax(logits, i * V, V)[text[i + 1]!]!;
    perplexity = Math.exp(nll / (text.length - 1));
  }
  return { logProbs, perplexity };
}

function checkTokens(what: string, ids: number[], vocab: number): void {
  if (!ids.length) throw new GemmaError('BAD_ARGUMENT', `${what} is empty`);
  for (const t of ids) {
    if (!Number.isInteger(t) || t < 0 || t >= vocab) throw new GemmaError('BAD_ARGUMENT', `${what}: token id ${t} is outside the vocabulary (0..${vocab - 1})`);
  }
}

/** Measure every scheme against the source model. */
export async function quantReport(src: SourceTensors & { name?: string }, opts: QuantReportOptions): Promise<QuantReport> {
  const cfg = src.config;
  if (!opts.schemes.length) throw new GemmaError('BAD_ARGUMENT', 'quantReport needs at least one scheme');
  if (!opts.prompts.length) throw new GemmaError('BAD_ARGUMENT', 'quantReport needs at least one prompt');
  opts.prompts.forEach((p, i) => checkTokens(`prompt ${i}`, p, cfg.vocabSize));
  if (opts.textTokens) checkTokens('text', opts.textTokens, cfg.vocabSize);
  const policies = opts.schemes.map((s) => resolvePolicy(s)); // fail on a bad scheme before any work
  const makeBackend = opts.backend ?? (() => new ReferenceBackend());
  const longest = Math.max(...opts.prompts.map((p) => p.length), opts.textTokens?.length ?? 0);
  if (longest > cfg.maxPositions) throw new GemmaError('CONTEXT_OVERFLOW', `a prompt of ${longest} tokens exceeds the model's ${cfg.maxPositions} positions`);
  const specs = tensorSpecs(cfg);
  const params = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const normBytes = specs.filter((s) => s.isNorm).reduce((a, s) => a + 4 * s.shape[0]!, 0);
  const say = opts.onProgress ?? (() => {});

  const load = async (transform?: ReturnType<typeof quantizeTransform>) => {
    const backend = makeBackend();
    const weights = await loadWeights(src.store, cfg, backend, { transform });
    return new GemmaModel(cfg, backend, weights, { contextLength: longest });
  };

  say('source model');
  const ref = await load();
  let refEval: Evaluation;
  try {
    refEval = await evaluate(ref, opts.prompts, opts.textTokens);
  } finally {
    ref.dispose();
  }
  let sourceBytes = normBytes;
  for (const s of specs) if (!s.isNorm) sourceBytes += lookupTensor(src.store, s)?.byteLength ?? 0;

  const reports: SchemeReport[] = [];
  for (const p of policies) {
    say(p.label);
    const records: TensorQuantRecord[] = [];
    const model = await load(quantizeTransform(p, cfg, { measure: true, onTensor: (r) => records.push(r) }));
    let ev: Evaluation;
    try {
      ev = await evaluate(model, opts.prompts, opts.textTokens);
    } finally {
      model.dispose();
    }
    let klSum = 0, klMax = 0, agree = 0, n = 0;
    ev.logProbs.forEach((rows, i) => rows.forEach((q, j) => {
      const pr = refEval.logProbs[i]![j]!;
      const kl = klDivergence(pr, q);
      klSum += kl;
      klMax = Math.max(klMax, kl);
      if (argmax(pr) === argmax(q)) agree++;
      n++;
    }));
    let sumSq = 0, count = 0;
    const tensors: TensorReport[] = records.map((r) => {
      const st = r.stats!;
      sumSq += st.sumSq;
      count += st.count;
      return {
        name: r.name, shape: r.shape, source: r.source, scheme: r.scheme, fallbackFrom: r.choice.fallbackFrom,
        bitsPerWeight: getCodec(r.scheme).bitsPerWeight, bytes: r.bytes,
        rmse: Math.sqrt(st.sumSq / st.count), maxAbs: st.maxAbs, relRmse: st.sumSqRef > 0 ? Math.sqrt(st.sumSq / st.sumSqRef) : 0,
      };
    });
    const bytes = normBytes + records.reduce((a, r) => a + r.bytes, 0);
    reports.push({
      label: p.label, bytes, bitsPerWeight: (8 * bytes) / params, weightRmse: Math.sqrt(sumSq / Math.max(1, count)),
      meanKl: klSum / n, maxKl: klMax, top1: agree / n, perplexity: ev.perplexity, tensors,
    });
  }
  const positions = opts.prompts.reduce((a, p) => a + p.length, 0);
  return {
    model: src.name ?? src.store.name, params, positions, textTokens: opts.textTokens?.length ?? 0,
    source: { bytes: sourceBytes, bitsPerWeight: (8 * sourceBytes) / params, perplexity: refEval.perplexity },
    schemes: reports,
  };
}

// ---------------------------------------------------------------- terminal table

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function sci(v: number | undefined): string {
  return v === undefined ? '-' : v === 0 ? '0' : v.toExponential(2);
}

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** The report as terminal tables: one line per scheme, and optionally per-tensor errors. */
export function formatQuantReport(r: QuantReport, opts: { perTensor?: boolean } = {}): string {
  const out: string[] = [];
  out.push(`quant report: ${r.model} (${r.params.toLocaleString('en-US')} parameters; ${r.positions} positions compared${r.textTokens ? `; perplexity over ${r.textTokens} text tokens` : ''})`);
  out.push('');
  const rows = [['source (f32 maths)', r.source.bitsPerWeight.toFixed(2), mib(r.source.bytes), '-', '-', '-', '-', r.source.perplexity?.toFixed(3) ?? '-']];
  for (const s of r.schemes) {
    rows.push([s.label, s.bitsPerWeight.toFixed(2), mib(s.bytes), sci(s.weightRmse), sci(s.meanKl), sci(s.maxKl), `${(s.top1 * 100).toFixed(1)}%`, s.perplexity?.toFixed(3) ?? '-']);
  }
  out.push(table(['scheme', 'bpw', 'size', 'weight RMSE', 'mean KL', 'max KL', 'top-1', 'PPL'], rows));
  if (opts.perTensor) {
    for (const s of r.schemes) {
      out.push('', `${s.label}: per tensor`);
      out.push(table(['tensor', 'shape', 'type', 'bpw', 'RMSE', 'rel RMSE', 'max |err|'], s.tensors.map((t) => [
        t.name, t.shape.join('x'), t.fallbackFrom ? `${t.scheme} (${t.fallbackFrom}: fallback)` : t.scheme,
        t.bitsPerWeight.toFixed(2), sci(t.rmse), sci(t.relRmse), sci(t.maxAbs),
      ])));
    }
  }
  return out.join('\n');
}
