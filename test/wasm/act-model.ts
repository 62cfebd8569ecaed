// An independent model of the wasm backend's quantized matmul arithmetic (shared by the
// wasm kernel tests): activations quantized per the spec in assembly/quantize.ts, weights
// dequantized by the reference codecs, exact sums in f64.
import { getCodec } from '../../src/quant/index.js';
import type { DType } from '../../src/tensor/dtype.js';

const f = Math.fround;

function roundEven(v: number): number {
  const fl = Math.floor(v), r = v - fl;
  if (r < 0.5) return fl;
  if (r > 0.5) return fl + 1;
  return fl % 2 === 0 ? fl : fl + 1;
}

/** the activation quantization spec: blocks of B, d = amax/127, q = round_even(x * (127/amax)) in f32;
 *  q = 0 where amax < 2^-120 (zeros, or 127/amax would overflow f32) */
export function quantizeActs(x: Float32Array, off: number, k: number, B: number): { q: Int32Array; d: Float64Array } {
  const q = new Int32Array(k), d = new Float64Array(k / B);
  for (let b = 0; b < k / B; b++) {
    let amax = 0;
    for (let j = 0; j < B; j++) amax = Math.max(amax, Math.abs(x[off + b * B + j]!));
    const id = amax >= 2 ** -120 ? f(127 / amax) : 0;
    d[b] = f(amax / 127);
    for (let j = 0; j < B; j++) q[b * B + j] = roundEven(f(x[off + b * B + j]! * id));
  }
  return { q, d };
}

/** out[t, r] = sum_b d_b sum_j w[r, j] q[t, j] in f64, w from the reference codec */
export function modelMatmul(dtype: DType, wdata: Uint8Array, m: number, k: number, x: Float32Array, T: number): Float32Array {
  const c = getCodec(dtype);
  const B = dtype.endsWith('_k') ? 256 : 32;
  const rb = (k / c.blockSize) * c.blockBytes;
  const w = new Float32Array(k);
  const out = new Float32Array(T * m);
  const acts = Array.from({ length: T }, (_, t) => quantizeActs(x, t * k, k, B));
  for (let r = 0; r < m; r++) {
    c.dequantizeRow(wdata, r * rb, w, 0, k);
    for (let t = 0; t < T; t++) {
      const { q, d } = acts[t]!;
      let s = 0;
      for (let b = 0; b < k / B; b++) {
        let sb = 0;
        for (let j = b * B; j < (b + 1) * B; j++) sb += w[j]! * q[j]!;
        s += d[b]! * sb;
      }
      out[t * m + r] = s;
    }
  }
  return out;
}
