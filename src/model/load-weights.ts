/**
 * Place a model's weights on a backend: look each tensor up by its conventional name,
 * check dtype and shape against the config, turn norm weights into f32 multipliers
 * (HF stores w and the model uses 1 + w; GGUF already stores 1 + w), and upload the
 * rest in their storage format. Tensors are read one ahead: the next one's read (file I/O,
 * on another thread in Node) runs while this one is uploaded; at most two tensors' bytes are
 * held at once. Where the backend copies what it uploads (Backend.copiesWeightData), the reads
 * go into two buffers used in turn (grown to the largest tensor), not a fresh array each.
 */
import { GemmaError } from '../errors.js';
import type { StoredTensor, TensorStore } from '../format/store.js';
import type { Backend, Weight } from '../kernels/backend.js';
import { getCodec } from '../quant/index.js';
import type { DType } from '../tensor/dtype.js';
import type { GemmaConfig } from './config.js';
import { assembleWeights, type ModelWeights, type TensorSpec, tensorSpecs } from './weights.js';

export interface LoadProgress { phase: 'weights'; done: number; total: number; tensor: string }

export interface WeightTransform {
  /** called for every non-norm tensor; may re-encode it (quantize-on-load) */
  (spec: TensorSpec, tensor: { dtype: DType; shape: number[]; data: Uint8Array }): { dtype: DType; data: Uint8Array } | Promise<{ dtype: DType; data: Uint8Array }>;
}

export interface LoadWeightsOptions {
  transform?: WeightTransform;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

const HF_PREFIXES = ['', 'language_model.', 'model.language_model.'];

function findHf(store: TensorStore, name: string): StoredTensor | undefined {
  for (const p of HF_PREFIXES) {
    const t = store.get(p + name) ?? (name.startsWith('model.') ? store.get(p + name.slice(6)) : undefined);
    if (t) return t;
  }
  return undefined;
}

export function lookupTensor(store: TensorStore, spec: TensorSpec): StoredTensor | undefined {
  return store.format === 'gguf' ? store.get(spec.gguf) : findHf(store, spec.hf);
}

/** f32 multiplier of a norm weight: 1 + w for HF files, as stored for GGUF. */
export function normMultiplier(store: TensorStore, t: StoredTensor, bytes: Uint8Array): Float32Array {
  const n = t.shape[0]!;
  const out = new Float32Array(n);
  getCodec(t.dtype!).dequantizeRow(bytes, 0, out, 0, n);
  if (store.format === 'safetensors') for (let i = 0; i < n; i++) out[i] = Math.fround(1 + out[i]!);
  return out;
}

export async function loadWeights(store: TensorStore, cfg: GemmaConfig, backend: Backend, opts: LoadWeightsOptions = {}): Promise<ModelWeights> {
  const specs = tensorSpecs(cfg);
  // check everything first, so a bad file fails before any upload
  const found = specs.map((s) => {
    const t = lookupTensor(store, s);
    const name = store.format === 'gguf' ? s.gguf : s.hf;
    if (!t) throw new GemmaError('MISSING_TENSOR', `the model needs this tensor but the file does not have it`, { file: store.name, tensor: name });
    if (!t.dtype) throw new GemmaError('UNSUPPORTED_DTYPE', `tensor type ${t.fileType} is not supported`, { file: t.file, tensor: t.name });
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new GemmaError('BAD_SHAPE', `shape [${t.shape}] does not match the config's [${s.shape}]`, { file: t.file, tensor: t.name });
    }
    return t;
  });
  const uploaded: Weight[] = [];
  // the two read buffers (tensor i goes into buffer i % 2: the read of i + 1 starts when i's
  // bytes are in, and i - 1, the last user of its buffer, is uploaded by then)
  const lend = backend.copiesWeightData ? [new Uint8Array(0), new Uint8Array(0)] : null;
  /** start reading tensor i (a rejection is also handled where it is awaited) */
  const readAhead = (i: number): Promise<Uint8Array> | undefined => {
    if (i >= found.length) return undefined;
    let into: Uint8Array | undefined;
    if (lend) {
      const n = found[i]!.byteLength;
      if (lend[i % 2]!.byteLength < n) lend[i % 2] = new Uint8Array(n);
      into = lend[i % 2];
    }
    const p = found[i]!.read(into);
    p.catch(() => undefined); // not an unhandled rejection if loading stops before awaiting it
    return p;
  };
  let next = readAhead(0);
  try {
    for (let i = 0; i < specs.length; i++) {
      if (opts.signal?.aborted) throw new GemmaError('ABORTED', 'loading was aborted');
      const s = specs[i]!, t = found[i]!;
      const bytes = await next!;
      next = readAhead(i + 1);
      if (s.isNorm) {
        const m = normMultiplier(store, t, bytes);
        uploaded.push(backend.uploadWeight({ name: t.name, dtype: 'f32', shape: [...s.shape], data: new Uint8Array(m.buffer) }));
      } else {
        let dtype = t.dtype!, data = bytes;
        if (opts.transform) ({ dtype, data } = await opts.transform(s, { dtype, shape: [...s.shape], data }));
        uploaded.push(backend.uploadWeight({ name: t.name, dtype, shape: [...s.shape], data }));
      }
      opts.onProgress?.({ phase: 'weights', done: i + 1, total: specs.length, tensor: t.name });
    }
  } catch (e) {
    for (const w of uploaded) backend.freeWeight(w);
    throw e;
  }
  return assembleWeights(cfg, specs, uploaded);
}
