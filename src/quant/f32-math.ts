/**
 * Single-precision arithmetic as ggml's C reference quantizers do it.
 *
 * ggml computes in `float`: every +, -, *, / and sqrtf rounds to f32. JavaScript computes in
 * double; for two f32 operands, rounding the double result of one +, -, *, / or sqrt to f32
 * gives exactly the f32 result (53 >= 2*24 + 2, so double rounding is innocuous). So each C
 * float operation becomes `fround(a op b)` with a, b already f32, and expressions are split
 * the way C evaluates them (left to right: w*x*l is (w*x)*l). The libggml-base build we test
 * against (node-llama-cpp, generic x86-64 SSE) has no FMA, so nothing is fused.
 */
export const fround = Math.fround;

const word = new Float32Array(1);
const wordBits = new Uint32Array(word.buffer);

/**
 * ggml's nearest_int(fval): computes fval + 1.5*2^23 in f32 and reads the low mantissa bits.
 * For |fval| <= 4194303 that is round-to-nearest, ties to even; outside that range ggml gets
 * a wrapped value and so do we (the bit trick is reproduced, not just the intent).
 * `v` must already be an f32 value. (Adding in double then rounding once to f32 gives the
 * f32 sum here: a tie at .5 needs |v| >= 0.5, where the double sum is exact.)
 */
export function nearestInt(v: number): number {
  word[0] = v + 12582912;
  return (wordBits[0]! & 0x007fffff) - 0x00400000;
}

/** C roundf: nearest integer, ties away from zero (used by quantize_row_q8_0_ref). */
export function roundHalfAway(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/** f32 sum of squares over x[off..off+n), accumulated left to right like ggml's loops */
export function sumSquaresF32(x: Float32Array, off: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const v = x[off + i]!;
    s = fround(s + fround(v * v));
  }
  return s;
}

/**
 * ggml's importance weights for one group: out[i] = qw[i] * sqrtf(sigma2 + x[i]^2) in f32
 * (the imatrix weight, scaled up for large-magnitude elements).
 */
export function importanceWeights(
  qw: Float32Array, qwOff: number, x: Float32Array, xOff: number, n: number, sigma2: number, out: Float32Array,
): void {
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i]!;
    out[i] = fround(qw[qwOff + i]! * fround(Math.sqrt(fround(sigma2 + fround(xi * xi)))));
  }
}
