/**
 * Memory estimates from a config alone: weights in a storage precision, the KV cache for a
 * context length, and the forward pass's scratch activations.
 *
 *   weights  = Σ tensors  elements / blockSize * blockBytes     (norms always f32: the 1 + w multipliers)
 *   KV cache = Σ layers   capacity * (G * D) * 2 (K and V) * 4 bytes (f32)
 *              capacity = context, or window + prefillChunk - 1 on sliding layers (ring buffer)
 *   scratch  = one prefill chunk of activations (h, x, q, k, v, att, o, gate, up, m) + the logits row
 */
import type { GemmaConfig } from '../model/config.js';
import { tensorSpecs } from '../model/weights.js';
import { byteSize, type DType, DTYPE_INFO } from '../tensor/dtype.js';

export interface MemoryEstimate {
  weights: number;
  kvCache: number;
  scratch: number;
  total: number;
  /** the context length the KV estimate is for (clipped to the model's maximum) */
  contextLength: number;
  /** tensors whose rows are not a whole number of blocks of `dtype`: counted as q8_0 (llama.cpp falls back similarly) */
  fallbackTensors: number;
  parameters: number;
}

export function kvCacheBytes(c: GemmaConfig, contextLength: number, prefillChunk = 128, kvCache: 'f32' | 'f16' = 'f32'): number {
  const kvDim = c.numKvHeads * c.headDim;
  let n = 0;
  for (const t of c.layerTypes) {
    const cap = t === 'sliding' && c.slidingWindow !== null ? Math.min(contextLength, c.slidingWindow + prefillChunk - 1) : contextLength;
    n += cap * kvDim * 2 * (kvCache === 'f16' ? 2 : 4);
  }
  return n;
}

export function estimateMemory(c: GemmaConfig, o: { dtype?: DType; contextLength?: number; prefillChunk?: number; kvCache?: 'f32' | 'f16' } = {}): MemoryEstimate {
  const dtype = o.dtype ?? 'bf16';
  const ctx = Math.min(o.contextLength ?? Math.min(c.maxPositions, 4096), c.maxPositions);
  const chunk = Math.min(o.prefillChunk ?? 128, ctx);
  let weights = 0, fallback = 0, params = 0;
  for (const s of tensorSpecs(c)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    params += n;
    if (s.isNorm) { weights += n * 4; continue; }
    const b = byteSize(dtype, s.shape);
    if (b !== undefined) weights += b;
    else { fallback++; weights += (n / DTYPE_INFO.q8_0.blockSize) * DTYPE_INFO.q8_0.blockBytes; }
  }
  const d = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim, f = c.intermediateSize;
  const scratch = (chunk * (d * 4 + q * 2 + kv * 2 + f * 2) + c.vocabSize) * 4;
  const kvCache = kvCacheBytes(c, ctx, chunk, o.kvCache);
  return { weights, kvCache, scratch, total: weights + kvCache + scratch, contextLength: ctx, fallbackTensors: fallback, parameters: params };
}

/** "8GB", "512MiB", "1.5g", "8" (GiB) → bytes. Memory sizes are binary: 1 GB = 2^30 bytes here. */
export function parseByteSize(s: string): number | undefined {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b)?\s*$/i.exec(s);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const mult = unit === 'k' ? 2 ** 10 : unit === 'm' ? 2 ** 20 : unit === 'g' ? 2 ** 30 : unit === 't' ? 2 ** 40 : m[3] ? 1 : 2 ** 30;
  const v = Number(m[1]) * mult;
  return Number.isFinite(v) && v > 0 ? Math.round(v) : undefined;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
