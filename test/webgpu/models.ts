/**
 * Synthetic tiny models for whole-model parity: the same GGUF bytes loaded on the reference
 * backend and on WebGPU (optionally re-quantized on load), compared by log-softmax.
 */
import { readGguf, ggufToBuffer } from '../../src/format/gguf.js';
import { ggufStore } from '../../src/format/store.js';
import { BufferSource } from '../../src/io/source.js';
import type { Backend } from '../../src/kernels/backend.js';
import { logSoftmax } from '../../src/kernels/reference/ops.js';
import { type GemmaConfig, getPreset } from '../../src/model/config.js';
import { configFromGguf } from '../../src/model/gguf-config.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { GemmaModel } from '../../src/model/model.js';
import { synthGguf } from '../../src/model/synth.js';
import { getCodec } from '../../src/quant/index.js';
import type { DType } from '../../src/tensor/dtype.js';

/** tiny-gemma-3 widened so every matrix dimension is a multiple of 256 (K-quant blocks) */
export function tinyK(): GemmaConfig {
  const c = getPreset('tiny-gemma-3');
  return { ...c, hiddenSize: 256, intermediateSize: 512, numHeads: 4, numKvHeads: 1, headDim: 64, queryPreAttnScalar: 64 };
}

const bufs = new Map<string, Promise<Uint8Array>>();
/** re-quantized tensors, so both backends get the same bytes and the (slow) quantizer runs once */
const quantized = new Map<string, Uint8Array>();

function ggufFor(name: string, cfg: GemmaConfig): Promise<Uint8Array> {
  let b = bufs.get(name);
  if (!b) bufs.set(name, b = ggufToBuffer(synthGguf(cfg, { seed: 1, dtype: 'f32', embedStd: 0.1 })));
  return b;
}

export interface ModelSpec {
  name: string;
  cfg: GemmaConfig;
  /** re-quantize every projection (not norms) to this dtype on load; by role when a function */
  quant?: DType | ((role: string) => DType);
}

export function presetSpec(name: string, quant?: ModelSpec['quant']): ModelSpec {
  return { name, cfg: getPreset(name), quant };
}

export async function loadModel(spec: ModelSpec, backend: Backend, opts: { contextLength?: number; prefillChunk?: number } = {}): Promise<GemmaModel> {
  const buf = await ggufFor(spec.name, spec.cfg);
  const f = await readGguf(new BufferSource(buf, `${spec.name}.gguf`));
  const cfg = configFromGguf(f);
  const q = spec.quant;
  const transform = q === undefined ? undefined : (s: { role: string; gguf: string }, t: { dtype: DType; shape: number[]; data: Uint8Array }) => {
    const dt = typeof q === 'function' ? q(s.role) : q;
    const key = `${spec.name}|${dt}|${s.gguf}`;
    const hit = quantized.get(key);
    if (hit) return { dtype: dt, data: hit };
    const [rows, cols] = t.shape as [number, number];
    const src = new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
    const c = getCodec(dt);
    const rb = (cols / c.blockSize) * c.blockBytes;
    const data = new Uint8Array(rows * rb);
    for (let r = 0; r < rows; r++) c.quantizeRow(src, r * cols, cols, data, r * rb);
    quantized.set(key, data);
    return { dtype: dt, data };
  };
  const w = await loadWeights(ggufStore(f), cfg, backend, { transform });
  return new GemmaModel(cfg, backend, w, { contextLength: opts.contextLength ?? 64, prefillChunk: opts.prefillChunk ?? 16 });
}

/** deterministic token sequence: BOS then a spread over the vocabulary */
export function tokens(n: number, vocab: number, seed = 37): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 2 : 10 + ((i * seed) % (vocab - 20))));
}

/** max over rows of max |log-softmax(a) - log-softmax(b)|; rows of `vocab` logits */
export function maxLogSoftmaxDiff(a: Float32Array, b: Float32Array, vocab: number): number {
  const la = new Float64Array(vocab), lb = new Float64Array(vocab);
  let m = 0;
  for (let r = 0; r < a.length / vocab; r++) {
    logSoftmax(a, r * vocab, vocab, la);
    logSoftmax(b, r * vocab, vocab, lb);
    for (let i = 0; i < vocab; i++) m = Math.max(m, Math.abs(la[i]! - lb[i]!));
  }
  return m;
}
