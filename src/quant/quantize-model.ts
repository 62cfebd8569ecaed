/**
 * Quantizing a whole model, one tensor and one row at a time:
 *
 *   quantizeTransform(policy, config)   a WeightTransform for loadWeights: quantize-on-load.
 *                                       Each tensor arrives in its stored dtype (f32/f16/bf16 or
 *                                       a block format) and leaves in its scheme; only one f32
 *                                       row exists at a time, never the f32 model.
 *   planQuantizedGguf(model, policy)    a GGUF (llama.cpp layout) from any source model:
 *                                       tensor types decided up front, data produced lazily
 *                                       tensor by tensor while writeGguf streams the file.
 *
 * Norm weights are written as f32 multipliers 1 + w, as llama.cpp's converter does; the
 * source's metadata (GGUF) or the metadata derived from config.json and the tokenizer files
 * (safetensors) is carried over, with general.file_type set to the recipe's llama_ftype.
 */
import { GemmaError } from '../errors.js';
import { GgufType, type GgufTypedValue, type GgufWriteTensor, writeGguf } from '../format/gguf.js';
import type { StoredTensor, TensorStore } from '../format/store.js';
import type { GemmaConfig } from '../model/config.js';
import { lookupTensor, normMultiplier, type WeightTransform } from '../model/load-weights.js';
import { type TensorSpec, tensorSpecs } from '../model/weights.js';
import { DTYPE_INFO, type DType, ggmlTypeName } from '../tensor/dtype.js';
import { getCodec } from './index.js';
import { chooseScheme, type QuantPolicy, type ResolvedPolicy, resolvePolicy, type SchemeChoice } from './policy.js';

/** GGML_QNT_VERSION: the block layouts' version, written as general.quantization_version */
export const GGML_QNT_VERSION = 2;

/** Error of a re-encoded tensor against its source values, accumulated row by row. */
export interface ErrorStats {
  /** elements compared */
  count: number;
  /** sum of (q - x)^2 */
  sumSq: number;
  /** max |q - x| */
  maxAbs: number;
  /** sum of x^2 (for a relative error) */
  sumSqRef: number;
}

export function newErrorStats(): ErrorStats {
  return { count: 0, sumSq: 0, maxAbs: 0, sumSqRef: 0 };
}

/** A tensor as the loaders hand it over: storage dtype, row-major shape, raw bytes. */
export interface RawTensor { dtype: DType; shape: readonly number[]; data: Uint8Array }

function rowsCols(name: string, shape: readonly number[]): [number, number] {
  const cols = shape[shape.length - 1]!;
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i]!;
  if (!Number.isSafeInteger(rows * cols) || cols < 1) throw new GemmaError('BAD_SHAPE', `shape [${shape}] cannot be quantized`, { tensor: name });
  return [rows, cols];
}

/**
 * Re-encode a tensor row by row: decode one row of `src` to f32 with its codec, encode it
 * with `scheme`'s codec. With `stats`, each encoded row is decoded again and compared with
 * the source row (this is where the quant report's per-tensor RMSE comes from).
 * Returns the new bytes: rows x (cols / blockSize) x blockBytes.
 */
export function requantizeTensor(name: string, src: RawTensor, scheme: string, stats?: ErrorStats): Uint8Array {
  const [rows, cols] = rowsCols(name, src.shape);
  const from = getCodec(src.dtype);
  const to = getCodec(scheme);
  if (cols % to.blockSize !== 0) {
    throw new GemmaError('BAD_SHAPE', `rows of ${cols} elements are not whole ${to.name} blocks of ${to.blockSize}`, { tensor: name });
  }
  const inRow = (cols / from.blockSize) * from.blockBytes;
  if (src.data.byteLength !== rows * inRow) {
    throw new GemmaError('BAD_TENSOR', `${src.dtype} [${src.shape}] needs ${rows * inRow} bytes, got ${src.data.byteLength}`, { tensor: name });
  }
  const outRow = (cols / to.blockSize) * to.blockBytes;
  const out = new Uint8Array(rows * outRow);
  const x = new Float32Array(cols);
  const y = stats ? new Float32Array(cols) : undefined;
  for (let r = 0; r < rows; r++) {
    from.dequantizeRow(src.data, r * inRow, x, 0, cols);
    try {
      to.quantizeRow(x, 0, cols, out, r * outRow);
    } catch (e) {
      if (e instanceof GemmaError) throw new GemmaError(e.code, `row ${r}: ${e.message}`, { tensor: name, cause: e });
      throw e;
    }
    if (stats && y) {
      to.dequantizeRow(out, r * outRow, y, 0, cols);
      for (let i = 0; i < cols; i++) {
        const d = y[i]! - x[i]!;
        stats.sumSq += d * d;
        stats.sumSqRef += x[i]! * x[i]!;
        if (Math.abs(d) > stats.maxAbs) stats.maxAbs = Math.abs(d);
      }
      stats.count += cols;
    }
  }
  return out;
}

/** Decode a tensor in any codec to f32 bytes (simulated storage of user schemes). */
export function dequantizeTensor(name: string, src: RawTensor): Uint8Array {
  const [rows, cols] = rowsCols(name, src.shape);
  const c = getCodec(src.dtype);
  const inRow = (cols / c.blockSize) * c.blockBytes;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) c.dequantizeRow(src.data, r * inRow, out, r * cols, cols);
  return new Uint8Array(out.buffer);
}

/** Whether a codec name is a GGUF tensor type (storable by every backend and in a GGUF). */
export function isGgufType(scheme: string): scheme is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_INFO, scheme);
}

/** What happened to one tensor during quantize-on-load. */
export interface TensorQuantRecord {
  name: string;
  hfName: string;
  shape: number[];
  /** the dtype it was stored in */
  source: DType;
  /** the scheme it was quantized to (= source when kept) */
  scheme: string;
  /** the dtype handed to the backend: scheme, or f32 when a user scheme is simulated */
  stored: DType;
  /** bytes of the tensor in its scheme */
  bytes: number;
  choice: SchemeChoice;
  stats?: ErrorStats;
}

export interface QuantizeTransformOptions {
  /** compare every re-encoded row with its source and record the error (quant report) */
  measure?: boolean;
  /**
   * keep the weights as f32 decoded from their scheme instead of the packed blocks (same
   * values; for backends without a kernel for the scheme). User-registered schemes are always
   * simulated this way, since backends only store GGUF types.
   */
  simulate?: boolean;
  /** called once per weight matrix (not norms), after it is quantized */
  onTensor?: (r: TensorQuantRecord) => void;
}

function specTarget(spec: TensorSpec, numLayers: number) {
  return { name: spec.gguf, hfName: spec.hf, shape: spec.shape, numLayers };
}

/**
 * Quantize-on-load: a WeightTransform for loadWeights (and LoadOptions.transform) that
 * re-encodes each weight matrix by the policy. Tensors already in their scheme pass
 * through untouched. `config` supplies the layer count the recipes' mixing depends on.
 *
 *   const t = quantizeTransform('q4_k_m', config);
 *   const weights = await loadWeights(store, config, backend, { transform: t });
 */
export function quantizeTransform(
  policy: QuantPolicy | ResolvedPolicy | string, config: Pick<GemmaConfig, 'numLayers'>, opts: QuantizeTransformOptions = {},
): WeightTransform {
  const p = resolvePolicy(policy);
  return (spec, t) => {
    const choice = chooseScheme(p, specTarget(spec, config.numLayers));
    const scheme = choice.scheme ?? t.dtype;
    const stats = opts.measure ? newErrorStats() : undefined;
    let data = t.data;
    if (scheme !== t.dtype) data = requantizeTensor(spec.gguf, t, scheme, stats);
    else if (stats) stats.count = t.shape.reduce((a, b) => a * b, 1); // kept as is: zero error
    let stored = scheme as DType;
    if (!isGgufType(scheme) || (opts.simulate && scheme !== 'f32')) {
      data = dequantizeTensor(spec.gguf, { dtype: scheme as DType, shape: t.shape, data });
      stored = 'f32';
    }
    const c = getCodec(scheme);
    const [rows, cols] = rowsCols(spec.gguf, t.shape);
    opts.onTensor?.({
      name: spec.gguf, hfName: spec.hf, shape: [...t.shape], source: t.dtype, scheme, stored,
      bytes: rows * (cols / c.blockSize) * c.blockBytes, choice, stats,
    });
    return { dtype: stored, data };
  };
}

// ---------------------------------------------------------------- GGUF output

/** A model to quantize: its tensors, config and the GGUF metadata to carry over. */
export interface SourceTensors {
  store: TensorStore;
  config: GemmaConfig;
  /** GGUF metadata for the output (architecture keys, tokenizer, chat template, ...) */
  metadata: Map<string, GgufTypedValue>;
}

export interface PlannedTensor {
  /** GGUF name */
  name: string;
  shape: number[];
  source: DType;
  dtype: DType;
  bytes: number;
  isNorm: boolean;
  choice: SchemeChoice;
}

export interface QuantizedGguf {
  policy: ResolvedPolicy;
  tensors: PlannedTensor[];
  metadata: Map<string, GgufTypedValue>;
  /** sum of tensor bytes (without header and padding) */
  tensorBytes: number;
  /** the file as byte chunks; tensors are read and quantized one at a time as it is consumed */
  stream(): AsyncGenerator<Uint8Array>;
}

/** the ggml name of a GGUF type the store could not map ('ggml type 16' -> 'IQ2_XXS') */
function fileTypeName(t: StoredTensor): string {
  const m = /^ggml type (\d+)$/.exec(t.fileType);
  return m ? `${ggmlTypeName(Number(m[1]))} (ggml type ${m[1]})` : t.fileType;
}

function checkedSource(store: TensorStore, spec: TensorSpec): StoredTensor {
  const t = lookupTensor(store, spec);
  const name = store.format === 'gguf' ? spec.gguf : spec.hf;
  if (!t) throw new GemmaError('MISSING_TENSOR', 'the model needs this tensor but the file does not have it', { file: store.name, tensor: name });
  if (!t.dtype) throw new GemmaError('UNSUPPORTED_DTYPE', `tensor type ${fileTypeName(t)} is not supported (gemma-ts reads ${Object.keys(DTYPE_INFO).join(', ')})`, { file: t.file, tensor: t.name });
  if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
    throw new GemmaError('BAD_SHAPE', `shape [${t.shape}] does not match the config's [${spec.shape}]`, { file: t.file, tensor: t.name });
  }
  return t;
}

/**
 * Decide every tensor's type and build the output GGUF. Everything is checked here (missing
 * or unsupported tensors, shapes, schemes a GGUF cannot hold) before a byte is produced.
 */
export function planQuantizedGguf(src: SourceTensors, policy: QuantPolicy | ResolvedPolicy | string): QuantizedGguf {
  const p = resolvePolicy(policy);
  const specs = tensorSpecs(src.config);
  const planned: { spec: TensorSpec; stored: StoredTensor; plan: PlannedTensor }[] = [];
  for (const spec of specs) {
    const stored = checkedSource(src.store, spec);
    let plan: PlannedTensor;
    if (spec.isNorm) {
      plan = { name: spec.gguf, shape: [...spec.shape], source: stored.dtype!, dtype: 'f32', bytes: 4 * spec.shape[0]!, isNorm: true, choice: { scheme: null, reason: 'keep' } };
    } else {
      const choice = chooseScheme(p, specTarget(spec, src.config.numLayers));
      const scheme = choice.scheme ?? stored.dtype!;
      if (!isGgufType(scheme)) {
        throw new GemmaError('BAD_ARGUMENT', `scheme '${scheme}' is not a GGUF tensor type, so it cannot be written to a GGUF file (use it with quantizeTransform)`, { tensor: spec.gguf });
      }
      const c = getCodec(scheme);
      const [rows, cols] = rowsCols(spec.gguf, spec.shape);
      plan = { name: spec.gguf, shape: [...spec.shape], source: stored.dtype!, dtype: scheme, bytes: rows * (cols / c.blockSize) * c.blockBytes, isNorm: false, choice };
    }
    planned.push({ spec, stored, plan });
  }
  const metadata = new Map(src.metadata);
  metadata.delete('general.alignment');
  metadata.set('general.file_type', { type: GgufType.UINT32, value: p.recipe.ftype });
  metadata.set('general.quantization_version', { type: GgufType.UINT32, value: GGML_QNT_VERSION });
  const tensors: GgufWriteTensor[] = planned.map(({ stored, plan }) => ({
    name: plan.name,
    dtype: plan.dtype,
    shape: plan.shape,
    data: async () => {
      const bytes = await stored.read();
      if (plan.isNorm) {
        const m = normMultiplier(src.store, stored, bytes);
        return new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
      }
      if (plan.dtype === plan.source) return bytes;
      return requantizeTensor(plan.name, { dtype: plan.source, shape: plan.shape, data: bytes }, plan.dtype);
    },
  }));
  return {
    policy: p,
    tensors: planned.map((x) => x.plan),
    metadata,
    tensorBytes: planned.reduce((a, x) => a + x.plan.bytes, 0),
    stream: () => writeGguf(metadata, tensors),
  };
}
