/**
 * The reference backend: plain TypeScript, f32 storage, f64 accumulation.
 * It is the oracle every other backend is tested against, so it is written for
 * clarity; weights stay in their storage format and are read through the block
 * codecs of src/quant one row at a time (never a whole dequantized tensor).
 */
import { GemmaError } from '../../errors.js';
import { getCodec } from '../../quant/index.js';
import type { BlockCodec } from '../../quant/codec.js';
import { byteSize } from '../../tensor/dtype.js';
import {
  type AttentionParams, type Backend, type KvLayer, type RopeParams, type Tensor, type Weight, type WeightData, expectShape,
} from '../backend.js';
import * as ops from './ops.js';

export class RefTensor implements Tensor {
  readonly data: Float32Array;
  constructor(readonly rows: number, readonly cols: number) { this.data = new Float32Array(rows * cols); }
}

export class RefWeight implements Weight {
  readonly codec: BlockCodec;
  /** bytes per row (shape[last] elements) */
  readonly rowBytes: number;
  constructor(readonly name: string, readonly dtype: Weight['dtype'], readonly shape: readonly number[], readonly data: Uint8Array) {
    this.codec = getCodec(dtype);
    const cols = shape[shape.length - 1]!;
    this.rowBytes = (cols / this.codec.blockSize) * this.codec.blockBytes;
  }
  get rows(): number { return this.shape.length === 1 ? 1 : this.shape[0]!; }
  get cols(): number { return this.shape[this.shape.length - 1]!; }
  /** dequantize row r into out[outOff..] */
  row(r: number, out: Float32Array, outOff = 0): void {
    this.codec.dequantizeRow(this.data, r * this.rowBytes, out, outOff, this.cols);
  }
}

export class RefKvLayer implements KvLayer {
  readonly k: Float32Array;
  readonly v: Float32Array;
  constructor(readonly capacity: number, readonly kvDim: number) {
    this.k = new Float32Array(capacity * kvDim);
    this.v = new Float32Array(capacity * kvDim);
  }
}

const T = (t: Tensor) => t as RefTensor;
const W = (w: Weight) => w as RefWeight;

export interface ReferenceOptions {
  /**
   * Emulate ggml's CPU arithmetic where it departs from exact f32 maths, to tell
   * architecture bugs from rounding when comparing with llama.cpp:
   * - activations are rounded to the weight's "vec_dot type" before a product
   *   (f16 weights: f16; bf16 weights: bf16; Q4_0/Q5_0/Q8_0: Q8_0; Q4_1/Q5_1: Q8_1;
   *   K-quants: Q8_K), as ggml converts them (see ops.ggmlActivations);
   * - GELU goes through ggml's f16 lookup table (input and output rounded to f16).
   * Off by default: the reference is exact maths.
   */
  ggmlCompat?: boolean;
}

export class ReferenceBackend implements Backend {
  readonly name = 'reference';
  constructor(readonly opts: ReferenceOptions = {}) {}

  uploadWeight(w: WeightData): Weight {
    const need = byteSize(w.dtype, w.shape);
    if (need === undefined || need !== w.data.byteLength) {
      throw new GemmaError('BAD_TENSOR', `${w.dtype} [${w.shape}] needs ${need ?? '?'} bytes, got ${w.data.byteLength}`, { tensor: w.name });
    }
    return new RefWeight(w.name, w.dtype, w.shape, w.data);
  }
  freeWeight(): void {}
  tensor(rows: number, cols: number): Tensor { return new RefTensor(rows, cols); }
  freeTensor(): void {}
  upload(t: Tensor, data: Float32Array): void {
    if (data.length !== t.rows * t.cols) throw new GemmaError('BAD_SHAPE', `upload of ${data.length} floats into [${t.rows}, ${t.cols}]`);
    T(t).data.set(data);
  }
  async download(t: Tensor): Promise<Float32Array> { return T(t).data.slice(); }
  createKvLayer(capacity: number, kvDim: number): KvLayer { return new RefKvLayer(capacity, kvDim); }
  freeKvLayer(): void {}
  dispose(): void {}

  embed(out: Tensor, table: Weight, tokens: Int32Array, scale: number): void {
    const tw = W(table);
    expectShape('embed out', out, tokens.length, tw.cols);
    const o = T(out).data;
    for (let r = 0; r < tokens.length; r++) {
      const id = tokens[r]!;
      if (!(id >= 0 && id < tw.rows)) throw new GemmaError('BAD_ARGUMENT', `token id ${id} outside the vocabulary (0..${tw.rows - 1})`);
      tw.row(id, o, r * tw.cols);
      for (let c = 0; c < tw.cols; c++) o[r * tw.cols + c] = Math.fround(o[r * tw.cols + c]! * scale);
    }
  }

  rmsNorm(out: Tensor, x: Tensor, w: Weight, eps: number): void {
    const ww = W(w);
    const n = ww.shape[0]!;
    if (ww.shape.length !== 1 || x.cols % n !== 0) throw new GemmaError('BAD_SHAPE', `rmsNorm weight [${ww.shape}] does not divide ${x.cols} columns`, { tensor: ww.name });
    expectShape('rmsNorm out', out, x.rows, x.cols);
    const wf = new Float32Array(n);
    ww.row(0, wf);
    ops.rmsNorm(T(out).data, T(x).data, wf, x.rows * (x.cols / n), n, eps);
  }

  matmul(out: Tensor, x: Tensor, w: Weight): void {
    const ww = W(w);
    if (ww.shape.length !== 2) throw new GemmaError('BAD_SHAPE', `matmul weight must be 2-D, got [${ww.shape}]`, { tensor: ww.name });
    expectShape('matmul x', x, x.rows, ww.cols);
    expectShape('matmul out', out, x.rows, ww.rows);
    let xd = T(x).data;
    const od = T(out).data;
    const k = ww.cols, m = ww.rows;
    let q8_1Sums: Float64Array | undefined;
    if (this.opts.ggmlCompat) {
      const vt = ops.ggmlVecDotType(ww.dtype);
      if (vt === 'q8_1') xd = ops.roundActivationsQ8_0(xd, (q8_1Sums = new Float64Array(xd.length / 32)));
      else xd = ops.ggmlActivations(xd, x.rows, k, vt);
    }
    // hot loop of the reference backend: one weight row at a time, dotted with every activation row
    for (let j = 0; j < m; j++) {
      for (let r = 0; r < x.rows; r++) {
        od[r * m + j] = ww.codec.dotRow(ww.data, j * ww.rowBytes, xd, r * k, k);
        if (q8_1Sums) od[r * m + j] += ops.q8_1MinCorrection(ww.data, j * ww.rowBytes, ww.codec.blockBytes, k / 32, q8_1Sums, (r * k) / 32);
      }
    }
  }

  rope(x: Tensor, p: RopeParams): void {
    if (x.cols % p.headDim !== 0) throw new GemmaError('BAD_SHAPE', `rope: ${x.cols} columns are not whole heads of ${p.headDim}`);
    ops.rope(T(x).data, x.rows, x.cols / p.headDim, p.headDim, p.startPos, p.theta, p.scaling);
  }

  kvStore(cache: KvLayer, k: Tensor, v: Tensor, startPos: number): void {
    const c = cache as RefKvLayer;
    expectShape('kvStore k', k, k.rows, c.kvDim);
    expectShape('kvStore v', v, k.rows, c.kvDim);
    for (let r = 0; r < k.rows; r++) {
      const slot = (startPos + r) % c.capacity;
      c.k.set(T(k).data.subarray(r * c.kvDim, (r + 1) * c.kvDim), slot * c.kvDim);
      c.v.set(T(v).data.subarray(r * c.kvDim, (r + 1) * c.kvDim), slot * c.kvDim);
    }
  }

  attention(out: Tensor, q: Tensor, cache: KvLayer, p: AttentionParams): void {
    const c = cache as RefKvLayer;
    expectShape('attention q', q, q.rows, p.numHeads * p.headDim);
    expectShape('attention out', out, q.rows, p.numHeads * p.headDim);
    if (c.kvDim !== p.numKvHeads * p.headDim) throw new GemmaError('BAD_SHAPE', `attention: cache kvDim ${c.kvDim} != ${p.numKvHeads} x ${p.headDim}`);
    ops.attention(T(out).data, T(q).data, q.rows, c.k, c.v, c.capacity, p);
  }

  geglu(out: Tensor, gate: Tensor, up: Tensor): void {
    expectShape('geglu up', up, gate.rows, gate.cols);
    expectShape('geglu out', out, gate.rows, gate.cols);
    (this.opts.ggmlCompat ? ops.gegluGgml : ops.geglu)(T(out).data, T(gate).data, T(up).data);
  }

  add(out: Tensor, a: Tensor, b: Tensor): void {
    expectShape('add b', b, a.rows, a.cols);
    expectShape('add out', out, a.rows, a.cols);
    const o = T(out).data, ad = T(a).data, bd = T(b).data;
    for (let i = 0; i < o.length; i++) o[i] = ad[i]! + bd[i]!;
  }

  softcap(x: Tensor, cap: number): void {
    const d = T(x).data;
    for (let i = 0; i < d.length; i++) d[i] = cap * Math.tanh(d[i]! / cap);
  }

  copyRows(out: Tensor, x: Tensor, srcRow: number): void {
    if (out.cols !== x.cols || srcRow < 0 || srcRow + out.rows > x.rows) throw new GemmaError('BAD_SHAPE', `copyRows: rows ${srcRow}..${srcRow + out.rows} of [${x.rows}, ${x.cols}] into [${out.rows}, ${out.cols}]`);
    T(out).data.set(T(x).data.subarray(srcRow * x.cols, (srcRow + out.rows) * x.cols));
  }

  async argmax(x: Tensor): Promise<Int32Array> {
    const d = T(x).data;
    const res = new Int32Array(x.rows);
    for (let r = 0; r < x.rows; r++) res[r] = ops.argmax(d, r * x.cols, x.cols);
    return res;
  }
}
