/**
 * The maths of the reference backend as small free functions on Float32Arrays.
 * Accumulations use JS doubles; results are stored as f32.
 */
import type { AttentionParams } from '../backend.js';
import { roundBf16, roundF16 } from '../../tensor/half.js';

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
