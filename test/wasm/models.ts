/** Tiny synthetic models on any backend, built in memory (wasm parity tests). */
import { readGguf } from '../../src/format/gguf.js';
import { ggufStore } from '../../src/format/store.js';
import { BufferSource } from '../../src/io/source.js';
import type { Backend } from '../../src/kernels/backend.js';
import { logSoftmax } from '../../src/kernels/reference/ops.js';
import { type GemmaConfig, getPreset } from '../../src/model/config.js';
import { configFromGguf } from '../../src/model/gguf-config.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { GemmaModel } from '../../src/model/model.js';
import type { DType } from '../../src/tensor/dtype.js';
import { synthModelBytes } from '../../bench/synth-model.js';

/** a preset, or '<preset>-k256': the same architecture widened so every matrix is K-quantizable */
export function testConfig(name: string): GemmaConfig {
  if (!name.endsWith('-k256')) return getPreset(name);
  const c = getPreset(name.slice(0, -5));
  return { ...c, hiddenSize: 256, intermediateSize: 512, headDim: 64, queryPreAttnScalar: 64 };
}

const bytesCache = new Map<string, Promise<Uint8Array>>();
export function modelBytes(name: string, dtype: DType): Promise<Uint8Array> {
  const key = `${name}/${dtype}`;
  let p = bytesCache.get(key);
  if (!p) { p = synthModelBytes(testConfig(name), dtype, { seed: 1, embedStd: 0.1 }); bytesCache.set(key, p); }
  return p;
}

export async function loadTestModel(name: string, dtype: DType, backend: Backend, prefillChunk = 16): Promise<GemmaModel> {
  const f = await readGguf(new BufferSource(await modelBytes(name, dtype), `${name}-${dtype}.gguf`));
  const cfg = configFromGguf(f);
  const w = await loadWeights(ggufStore(f), cfg, backend);
  return new GemmaModel(cfg, backend, w, { contextLength: 64, prefillChunk });
}

export const TOKENS = Array.from({ length: 40 }, (_, i) => (i === 0 ? 2 : 10 + ((i * 37) % 500)));

/** per-position log-softmax of [positions x vocab] logits */
export function logProbs(logits: Float32Array, V: number): Float64Array[] {
  const n = logits.length / V;
  return Array.from({ length: n }, (_, p) => { const o = new Float64Array(V); logSoftmax(logits, p * V, V, o); return o; });
}

export interface Agreement {
  maxAbs: number;
  top1: number;
  meanKl: number;
  /** positions whose top-1 differs although the reference's top-1 leads its top-2 by >= 0.1 nats */
  clearFlips: number;
}

/** compare log-probs: max |difference|, top-1 agreement, mean KL(ref || ours); -Infinity ref entries skipped */
export function agreement(ours: Float64Array[], ref: Float64Array[]): Agreement {
  let maxAbs = 0, agree = 0, kl = 0, clearFlips = 0;
  for (let p = 0; p < ref.length; p++) {
    const a = ours[p]!, b = ref[p]!;
    let ia = 0, ib = 0, k = 0;
    for (let i = 0; i < b.length; i++) {
      if (a[i]! > a[ia]!) ia = i;
      if (b[i]! > b[ib]!) ib = i;
      if (!Number.isFinite(b[i]!)) continue;
      maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
      k += Math.exp(b[i]!) * (b[i]! - a[i]!);
    }
    if (ia === ib) agree++;
    else {
      let second = -Infinity;
      for (let i = 0; i < b.length; i++) if (i !== ib && b[i]! > second) second = b[i]!;
      if (b[ib]! - second >= 0.1) clearFlips++;
    }
    kl += k;
  }
  return { maxAbs, top1: agree / ref.length, meanKl: kl / ref.length, clearFlips };
}
