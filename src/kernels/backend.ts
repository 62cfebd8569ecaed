/**
 * The one backend interface. The forward pass (src/model/forward.ts) is written
 * against it; the reference (plain TypeScript), WASM and WebGPU backends implement it.
 *
 * Conventions
 * - Activations are f32 matrices [rows, cols], row-major; `rows` is the number of
 *   tokens in the batch. They live wherever the backend keeps them (JS heap, WASM
 *   memory, GPU buffers); only `download` brings them back (async).
 * - Weights are uploaded once, in their storage format (f32/f16/bf16 or a ggml
 *   block format), shape [outFeatures, inFeatures] for matrices ("row" = one output).
 *   Norm weights are f32 vectors holding the full multiplier (1 + w).
 * - Ops enqueue work and return at once; a backend may run them later (WebGPU) but
 *   must preserve order. Outputs must not alias inputs unless an op says so.
 */
import { GemmaError } from '../errors.js';
import type { DType } from '../tensor/dtype.js';

/** An f32 activation matrix owned by a backend. */
export interface Tensor {
  readonly rows: number;
  readonly cols: number;
}

/** A weight owned by a backend, kept in its storage format. */
export interface Weight {
  readonly name: string;
  readonly dtype: DType;
  /** [rows, cols] for matrices, [n] for vectors */
  readonly shape: readonly number[];
}

/** Host-side weight bytes handed to `uploadWeight`. */
export interface WeightData {
  name: string;
  dtype: DType;
  shape: number[];
  /** raw bytes in the dtype's layout (ggml block layout for quantized types) */
  data: Uint8Array;
}

/**
 * One layer's KV cache: K and V, each [capacity, numKvHeads * headDim].
 * Position p lives in slot p % capacity (a ring buffer when capacity < context).
 */
export interface KvLayer {
  readonly capacity: number;
  readonly kvDim: number;
}

export interface AttentionParams {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** multiplier applied to q.k (queryPreAttnScalar ** -0.5) */
  scale: number;
  /** tanh soft-cap of scores: cap * tanh(s / cap); null = off */
  softcap: number | null;
  /** sliding window W (query at p sees keys j with p-W < j <= p); null = full causal */
  window: number | null;
  /** absolute position of the first query row */
  startPos: number;
}

export interface RopeParams {
  headDim: number;
  /** absolute position of the first row */
  startPos: number;
  /** base frequency */
  theta: number;
  /** linear scaling: positions are divided by this (1 = none) */
  scaling: number;
}

export interface Backend {
  readonly name: string;
  /**
   * uploadWeight copies the bytes it is given (into its own memory, or a GPU buffer): the
   * caller may reuse the array afterwards (the loader then reads every tensor into one of two
   * buffers). Absent or false: the backend may keep the array itself (the reference backend).
   */
  readonly copiesWeightData?: boolean;

  // ---- memory
  uploadWeight(w: WeightData): Weight;
  freeWeight(w: Weight): void;
  /**
   * a zero-filled f32 matrix; with `uninitialized` its contents are unspecified (for outputs
   * that an op overwrites whole before anything reads them: saves a clear on the GPU)
   */
  tensor(rows: number, cols: number, uninitialized?: boolean): Tensor;
  freeTensor(t: Tensor): void;
  upload(t: Tensor, data: Float32Array): void;
  download(t: Tensor): Promise<Float32Array>;
  createKvLayer(capacity: number, kvDim: number): KvLayer;
  freeKvLayer(l: KvLayer): void;
  /** release everything this backend holds */
  dispose(): void;

  // ---- ops
  /** out[r] = table[tokens[r]] * scale (table: [vocab, cols] in any dtype; dequantizes one row per token) */
  embed(out: Tensor, table: Weight, tokens: Int32Array, scale: number): void;
  /**
   * RMSNorm with a full multiplier w (= 1 + w_hf): out = x / sqrt(mean(x^2) + eps) * w, in f32 (out may alias x).
   * w has length n dividing x.cols; each consecutive chunk of n columns is normalised on its
   * own (n = cols for hidden states, n = headDim for Gemma 3's per-head QK-norm).
   */
  rmsNorm(out: Tensor, x: Tensor, w: Weight, eps: number): void;
  /** out[r, m] = sum_k x[r, k] * W[m, k]   (out: [rows, W.rows], x: [rows, W.cols]) */
  matmul(out: Tensor, x: Tensor, w: Weight): void;
  /** in place: rotate each head's half-split pairs (i, i + headDim/2) of x [rows, heads*headDim] */
  rope(x: Tensor, p: RopeParams): void;
  /** write k, v rows (positions startPos..) into the cache */
  kvStore(cache: KvLayer, k: Tensor, v: Tensor, startPos: number): void;
  /** out [rows, numHeads*headDim] = softmax(scale * q k^T (capped, masked)) v over the cache */
  attention(out: Tensor, q: Tensor, cache: KvLayer, p: AttentionParams): void;
  /** out = gelu_tanh(gate) * up, elementwise (out may alias gate or up) */
  geglu(out: Tensor, gate: Tensor, up: Tensor): void;
  /** out = a + b (out may alias a) */
  add(out: Tensor, a: Tensor, b: Tensor): void;
  /** in place: x = cap * tanh(x / cap) */
  softcap(x: Tensor, cap: number): void;

  // ---- optional fusions (a backend may offer them to save memory passes and dispatches;
  //      src/model/forward.ts falls back to the ops above: the *Plain functions below define
  //      what each computes, and a backend whose fused kernel does not apply calls them)
  /**
   * The attention inputs in one go, per head: q and k RMS-normed with qNorm / kNorm when given
   * (Gemma 3), both rotated by RoPE, q written back in place, k and v stored in the cache at
   * positions p.startPos.. (k and v themselves are left as they were). The same as
   *   rmsNorm(q, q, qNorm), rmsNorm(k, k, kNorm), rope(q, p), rope(k, p), kvStore(cache, k, v, p.startPos)
   */
  qkRopeStore?(q: Tensor, k: Tensor, v: Tensor, cache: KvLayer, qNorm: Weight | null, kNorm: Weight | null, eps: number, p: RopeParams): void;
  /** q = x Wq^T, k = x Wk^T, v = x Wv^T: the same as three matmuls */
  matmulQkv?(q: Tensor, k: Tensor, v: Tensor, x: Tensor, wq: Weight, wk: Weight, wv: Weight): void;
  /**
   * out = gelu_tanh(x Wgate^T) * (x Wup^T): the same as matmul(out, x, wGate),
   * matmul(up, x, wUp), geglu(out, out, up); `up` (shaped like out) may be used as scratch
   */
  matmulGeglu?(out: Tensor, x: Tensor, wGate: Weight, wUp: Weight, up: Tensor): void;
  /**
   * The residual step and the next block's input norm: h = h + (post ? RMSNorm(o) post : o),
   * then x = RMSNorm(h) next. The same as rmsNorm(o, o, post), add(h, h, o), rmsNorm(x, h, next)
   * (o may be overwritten).
   */
  residualNorm?(h: Tensor, o: Tensor, post: Weight | null, x: Tensor, next: Weight, eps: number): void;

  /** out[0..n) = x[srcRow .. srcRow+n) */
  copyRows(out: Tensor, x: Tensor, srcRow: number): void;
  /** index of the largest value of each row (first one on ties) */
  argmax(x: Tensor): Promise<Int32Array>;
}

/** Backend.qkRopeStore as plain ops */
export function qkRopeStorePlain(B: Backend, q: Tensor, k: Tensor, v: Tensor, cache: KvLayer, qNorm: Weight | null, kNorm: Weight | null, eps: number, p: RopeParams): void {
  if (qNorm && kNorm) {
    B.rmsNorm(q, q, qNorm, eps); // per head: the weight has headDim entries
    B.rmsNorm(k, k, kNorm, eps);
  }
  B.rope(q, p);
  B.rope(k, p);
  B.kvStore(cache, k, v, p.startPos);
}

/** Backend.matmulQkv as plain ops */
export function matmulQkvPlain(B: Backend, q: Tensor, k: Tensor, v: Tensor, x: Tensor, wq: Weight, wk: Weight, wv: Weight): void {
  B.matmul(q, x, wq);
  B.matmul(k, x, wk);
  B.matmul(v, x, wv);
}

/** Backend.matmulGeglu as plain ops */
export function matmulGegluPlain(B: Backend, out: Tensor, x: Tensor, wGate: Weight, wUp: Weight, up: Tensor): void {
  B.matmul(out, x, wGate);
  B.matmul(up, x, wUp);
  B.geglu(out, out, up);
}

/** Backend.residualNorm as plain ops */
export function residualNormPlain(B: Backend, h: Tensor, o: Tensor, post: Weight | null, x: Tensor, next: Weight, eps: number): void {
  if (post) B.rmsNorm(o, o, post, eps);
  B.add(h, h, o);
  B.rmsNorm(x, h, next, eps);
}

/** shape checks every backend runs before launching an op (clear errors, not garbage) */
export function expectShape(what: string, t: Tensor, rows: number, cols: number): void {
  if (t.rows !== rows || t.cols !== cols) {
    throw new GemmaError('BAD_SHAPE', `${what}: expected [${rows}, ${cols}], got [${t.rows}, ${t.cols}]`);
  }
}
