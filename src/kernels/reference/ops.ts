/**
 * The maths of the reference backend as small free functions on Float32Arrays.
 * Accumulations use JS doubles; results are stored as f32.
 */
import type { AttentionParams } from '../backend.js';
import { f16ToF32, roundBf16, roundF16 } from '../../tensor/half.js';
import { getCodec } from '../../quant/index.js';

/**
 * RMSNorm over `groups` consecutive chunks of n values:
 *   y = x / sqrt(mean(x^2) + eps) * w     (w already holds 1 + w_hf)
 */
export function rmsNorm(out: Float32Array, x: Float32Array, w: Float32Array, groups: number, n: number, eps: number): void {
  for (let g = 0; g < groups; g++) {
    const o = g * n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[o + i]! * x[o + i]!;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out[o + i] = x[o + i]! * inv * w[i]!;
  }
}

/**
 * RoPE on half-split pairs ("rotate_half" / NeoX layout): for each head and i < D/2,
 *   angle = (pos / scaling) * theta^(-2i/D)
 *   (a, b) = (x[i], x[i + D/2])  ->  (a cos - b sin, a sin + b cos)
 */
export function rope(x: Float32Array, rows: number, heads: number, headDim: number, startPos: number, theta: number, scaling: number): void {
  const half = headDim / 2;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = Math.pow(theta, -(2 * i) / headDim);
  for (let r = 0; r < rows; r++) {
    const pos = (startPos + r) / scaling;
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const ang = pos * invFreq[i]!;
        const c = Math.cos(ang), s = Math.sin(ang);
        const a = x[o + i]!, b = x[o + i + half]!;
        x[o + i] = a * c - b * s;
        x[o + i + half] = a * s + b * c;
      }
    }
  }
}

/**
 * Causal (optionally sliding-window, soft-capped) multi-/grouped-query attention over a
 * ring-buffer KV cache. Query head h reads KV head floor(h / (numHeads / numKvHeads)).
 */
export function attention(out: Float32Array, q: Float32Array, rows: number, K: Float32Array, V: Float32Array, capacity: number, p: AttentionParams): void {
  const { numHeads, numKvHeads, headDim: D, scale, softcap, window, startPos } = p;
  const group = numHeads / numKvHeads;
  const kvDim = numKvHeads * D;
  const scores = new Float64Array(capacity);
  for (let r = 0; r < rows; r++) {
    const pos = startPos + r;
    let lo = window !== null ? Math.max(0, pos - window + 1) : 0;
    if (pos - lo + 1 > capacity) lo = pos - capacity + 1; // the cache cannot hold more
    for (let h = 0; h < numHeads; h++) {
      const g = Math.floor(h / group);
      const qo = (r * numHeads + h) * D;
      let max = -Infinity;
      for (let j = lo; j <= pos; j++) {
        const ko = (j % capacity) * kvDim + g * D;
        let s = 0;
        for (let d = 0; d < D; d++) s += q[qo + d]! * K[ko + d]!;
        s *= scale;
        if (softcap !== null) s = softcap * Math.tanh(s / softcap);
        scores[j - lo] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = lo; j <= pos; j++) { const e = Math.exp(scores[j - lo]! - max); scores[j - lo] = e; sum += e; }
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = lo; j <= pos; j++) acc += scores[j - lo]! * V[(j % capacity) * kvDim + g * D + d]!;
        out[qo + d] = acc / sum;
      }
    }
  }
}

/** tanh approximation of GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

export function geglu(out: Float32Array, gate: Float32Array, up: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = geluTanh(gate[i]!) * up[i]!;
}

export function argmax(x: Float32Array, off: number, n: number): number {
  let best = 0, bv = -Infinity;
  for (let i = 0; i < n; i++) if (x[off + i]! > bv) { bv = x[off + i]!; best = i; }
  return best;
}

export function logSoftmax(x: Float32Array, off: number, n: number, out: Float64Array | Float32Array, outOff = 0): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[off + i]! > max) max = x[off + i]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[off + i]! - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < n; i++) out[outOff + i] = x[off + i]! - lse;
}

// ---- ggml emulation (ReferenceOptions.ggmlCompat): for telling rounding from bugs in parity tests

/** copy of x rounded to f16 or bf16, as ggml converts activations before f16/bf16 dot products */
export function roundActivations(x: Float32Array, dt: 'f16' | 'bf16'): Float32Array {
  const r = dt === 'f16' ? roundF16 : roundBf16;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = r(x[i]!);
  return out;
}

/** ggml's GELU: clamps at |x| >= 10, else a table lookup at f16(x) holding f16(gelu(x)) */
export function gegluGgml(out: Float32Array, gate: Float32Array, up: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const x = gate[i]!;
    const g = x <= -10 ? 0 : x >= 10 ? x : roundF16(Math.fround(geluTanh(roundF16(x))));
    out[i] = g * up[i]!;
  }
}

/**
 * The type ggml's CPU backend converts activations to before a product with a weight of
 * type `dt` (its "vec_dot_type"): f16/bf16 weights take f16/bf16 activations; Q4_0, Q5_0 and
 * Q8_0 take Q8_0; Q4_1 and Q5_1 take Q8_1 (Q8_0's levels plus a block sum); K-quants take Q8_K.
 */
export type GgmlVecDotType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q8_1' | 'q8_k';

export function ggmlVecDotType(dt: string): GgmlVecDotType {
  switch (dt) {
    case 'f16': case 'bf16': return dt;
    case 'q4_0': case 'q5_0': case 'q8_0': return 'q8_0';
    case 'q4_1': case 'q5_1': return 'q8_1';
    case 'q4_k': case 'q5_k': case 'q6_k': return 'q8_k';
    default: return 'f32';
  }
}

/** round half to even (what _mm256_round_ps(_MM_ROUND_NEAREST) does) */
function roundHalfEven(v: number): number {
  const r = Math.round(v); // halves go up
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/**
 * x (rows of whole 32-blocks) as ggml's x86 quantize_row_q8_0 / q8_1 (AVX2 path) leaves it,
 * decoded back to f32: per block of 32, amax = max |x|, d = amax/127 stored as f16,
 * q = round_half_even(x * (127/amax)) in f32, value = q * f16(d).
 * (The scalar reference uses 1/d and roundf instead; x86 builds run this one.)
 * With `sums`, also Q8_1's block field s = f16(d * sum q) (d unrounded), minus the sum of the
 * decoded values: Q4_1/Q5_1 dots take m * s for the min term where our dot takes m * sum(x).
 */
export function roundActivationsQ8_0(x: Float32Array, sums?: Float64Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < x.length; b += 32) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]!));
    const d32 = Math.fround(amax / 127);
    const d = roundF16(d32);
    const id = amax !== 0 ? Math.fround(127 / amax) : 0;
    let sumq = 0, sumv = 0;
    for (let j = 0; j < 32; j++) {
      const q = roundHalfEven(Math.fround(x[b + j]! * id));
      out[b + j] = Math.fround(q * d);
      sumq += q;
      sumv += out[b + j]!;
    }
    if (sums) sums[b / 32] = roundF16(Math.fround(d32 * sumq)) - sumv;
  }
  return out;
}

/**
 * The Q8_1 min-term correction of one weight row of a Q4_1/Q5_1 matrix (both block layouts
 * start with f16 d, f16 m): sum over blocks b of m_b * (s_b - sum of decoded x in block b),
 * with the per-block differences from roundActivationsQ8_0(x, sums) at sums[sOff..].
 */
export function q8_1MinCorrection(w: Uint8Array, rowOff: number, blockBytes: number, nBlocks: number, sums: Float64Array, sOff: number): number {
  let c = 0;
  for (let b = 0; b < nBlocks; b++) {
    const o = rowOff + b * blockBytes;
    c += f16ToF32(w[o + 2]! | (w[o + 3]! << 8)) * sums[sOff + b]!;
  }
  return c;
}

/**
 * x's rows of `cols` values through Q8_K (quantize_row_q8_K_ref, which x86 builds also use)
 * and back: per block of 256, d = max/-127 (f32), q = nearest(x * -127/max).
 */
export function roundActivationsQ8_K(x: Float32Array, rows: number, cols: number): Float32Array {
  const c = getCodec('q8_k');
  const rowBytes = (cols / c.blockSize) * c.blockBytes;
  const blocks = new Uint8Array(rowBytes);
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    c.quantizeRow(x, r * cols, cols, blocks, 0);
    c.dequantizeRow(blocks, 0, out, r * cols, cols);
  }
  return out;
}

/** activations as ggml's CPU matmul sees them for a weight whose vec_dot_type is `vt` */
export function ggmlActivations(x: Float32Array, rows: number, cols: number, vt: GgmlVecDotType): Float32Array {
  switch (vt) {
    case 'f32': return x;
    case 'f16': case 'bf16': return roundActivations(x, vt);
    case 'q8_0': case 'q8_1': return roundActivationsQ8_0(x); // q8_1: see q8_1MinCorrection
    case 'q8_k': return roundActivationsQ8_K(x, rows, cols);
  }
}
