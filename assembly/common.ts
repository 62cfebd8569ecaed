// Shared SIMD helpers of the WASM kernels (AssemblyScript).
//
// Two builds come from these sources (scripts/build-wasm.mjs): SIMD128, and SIMD128 +
// relaxed SIMD. `ASC_FEATURE_RELAXED_SIMD` is a compile-time constant, so every
// `if (ASC_FEATURE_RELAXED_SIMD)` below keeps exactly one branch in each build.
//
// Rule for the whole module: no static data (no strings, no constant arrays). With a
// shared memory every instance would re-apply data segments when a worker instantiates
// it; the build script checks that the binary has no data section.

/**
 * GEMMA_DOT_ADD (compile-time constant, scripts/build-wasm.mjs `--use`): 1 in the dot-add build,
 * where the integer dots accumulate with i32x4.relaxed_dot_i8x16_i7x16_add_s, 0 otherwise. The
 * host keeps that build only where it passes the self-test and beats the plain relaxed build
 * (src/kernels/wasm/loader.ts): V8 13.6 (Node 24) and later lower the instruction to one
 * vpdpbusd with AVX-VNNI, older V8 and CPUs without it to three instructions (slower than
 * pmaddubsw + paddw), and Node 20's baseline compiler computes it wrong.
 */

/** f16 bits -> f32, exact for normal and subnormal halves (inf/NaN become 2^16 (1 + m/1024), as
 *  f16x4s). Exponent+mantissa shifted left by 13 and the exponent rebiased by 112 in integer
 *  arithmetic; a subnormal half (exponent 0) instead takes exponent 1 (2^-14 (1 + m/1024)) and
 *  2^-14 off. No f32 subnormal is ever an operand: x86 takes a microcode assist (~100+ cycles)
 *  for each, and the K-quants' f16 super-block scales of weights with std ~0.02 are subnormal
 *  (Q6_K, Q5_K: decode 1.4-2.4x slower with the multiply of f16x4s; see f16x4x). */
@inline export function f16(h: u32): f32 {
  const o = ((h & 0x7fff) << 13) + (112 << 23);
  const v = select<f32>(reinterpret<f32>(o + (1 << 23)) - reinterpret<f32>(113 << 23), reinterpret<f32>(o), (h & 0x7c00) == 0);
  return reinterpret<f32>(reinterpret<u32>(v) | ((h & 0x8000) << 16));
}

/**
 * four f16 lanes, sign-extended to i32 (as f16x4s takes them) -> f32x4 as f16() does: exact,
 * without arithmetic on f32 subnormals (f16x4s multiplies one whenever a lane is an f16
 * subnormal). Eleven operations against f16x4s's three: for the K-quants' super-block scales
 * (two conversions per four rows of 256 weights), whose subnormal halves are common.
 */
@inline export function f16x4x(h: v128): v128 {
  const o = i32x4.add(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), i32x4.splat(112 << 23));
  const z = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0));
  const v = f32x4.sub(i32x4.add(o, v128.and(z, i32x4.splat(1 << 23))), v128.and(z, i32x4.splat(113 << 23)));
  return v128.or(v, v128.and(h, i32x4.splat(<i32>0x80000000)));
}

/**
 * four f16 lanes, sign-extended to i32 (i32x4.extend_*_i16x8_s / load_ext<i16>) -> f32x4,
 * same trick as f16(): shifting left by 13 puts exponent+mantissa at bits 13..27 and copies
 * of the sign at bits 28..31; keeping bit 31 and bits 0..27 (fm = f16Mask) leaves the sign in
 * place, and the multiply by 2^112 (fb = f16Bias) rebiases the exponent (and keeps the sign).
 * The two constants come in as run-time vectors (see byteMask): as constants, V8 rebuilt both
 * (three instructions each) at every conversion.
 */
@inline export function f16x4s(h: v128, fm: v128, fb: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(h, 13), fm), fb);
}

/** f16x4s's mask (0x8fffffff per lane) from a run-time n >= 1 */
@inline export function f16Mask(n: i32): v128 {
  return i32x4.splat(<i32>0x8fffffff * min(n, 1));
}

/** f16x4s's rebias factor (2^112 per lane) from a run-time n >= 1 */
@inline export function f16Bias(n: i32): v128 {
  return i32x4.splat(0x77800000 * min(n, 1));
}

/** four consecutive f16 values at p -> f32x4 (fm, fb: f16x4s) */
@inline export function f16x4(p: usize, fm: v128, fb: v128): v128 {
  return f16x4s(v128.load_ext<i16>(p), fm, fb);
}

/** a * b + c (fused where relaxed SIMD allows it) */
@inline export function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline export function hsum(a: v128): f32 {
  const b = f32x4.add(a, v128.shuffle<f32>(a, a, 2, 3, 0, 1));
  return f32x4.extract_lane(b, 0) + f32x4.extract_lane(b, 1);
}

@inline export function hsumi(a: v128): i32 {
  const b = i32x4.add(a, v128.shuffle<i32>(a, a, 2, 3, 0, 1));
  return i32x4.extract_lane(b, 0) + i32x4.extract_lane(b, 1);
}

/** (sum a, sum b, sum c, sum d) of four i32x4 vectors */
@inline export function hadd4i(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(v128.shuffle<i32>(a, b, 0, 4, 1, 5), v128.shuffle<i32>(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(v128.shuffle<i32>(c, d, 0, 4, 1, 5), v128.shuffle<i32>(c, d, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(ab, cd, 0, 1, 4, 5), v128.shuffle<i32>(ab, cd, 2, 3, 6, 7));
}

/** (sum a, sum b, sum c, sum d) of four f32x4 vectors */
@inline export function hadd4f(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/**
 * Integer dot of 16 unsigned weight levels w (each 0..63) with 16 int8 activations.
 * Returns i32x4 partial sums. x8: the int8 activations, x16: the same widened to int16.
 * Relaxed: i16x8.relaxed_dot_i8x16_i7x16_s(x, w) is deterministic because w < 128 (the
 * i7 operand); pairs of products fit int16 (2 * 63 * 127 < 32767).
 * (Not i32x4.relaxed_dot_i8x16_i7x16_add_s: Node 20's baseline compiler gets it wrong.)
 */
@inline export function dotU16(w: v128, x8: usize, x16: usize, ones: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (GEMMA_DOT_ADD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(x8), w, i32x4.splat(0));
    return i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(x8), w), ones);
  }
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w), v128.load(x16)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w), v128.load(x16, 16)),
  );
}

/**
 * Dot-add build: 32 unsigned levels (a: elements 0..15, b: 16..31; each < 128, the i7
 * operand) against 32 int8 activations at x8, summed in i32 by two relaxed dot-adds
 * (dotU32, and matmul-k.ts scaledDot32 before its scale).
 */
@inline export function dotAdd32(a: v128, b: v128, x8: usize): v128 {
  return dotU8(a, b, v128.load(x8), v128.load(x8, 16), i32x4.splat(0));
}

/**
 * Dot-add build: 32 unsigned weight levels (w0: elements 0..15, w1: 16..31) against 32 int8
 * activations (x0, x1), added to acc. Q8_0's levels are stored offset by 128 (u8 = q + 128,
 * repack.ts offsetQ8_0): the sum is then w.x + 128 sum(x), which the caller takes off (the
 * 4/5-bit formats' levels, 0..31, are within the i7 range).
 * The levels are outside the i7 range of relaxed dot-add, where the spec lets an engine read
 * them signed or unsigned: V8 on x64 reads them unsigned (vpdpbusd, and pmaddubsw without
 * AVX-VNNI, where a pair of products saturates int16). The loader's self-test (selfTestDotQ8,
 * with the largest pairs) keeps this build only where the engine computes the exact unsigned
 * dot; half the dot-adds of the positive/negative parts (dotQ8r).
 */
@inline export function dotU8(w0: v128, w1: v128, x0: v128, x1: v128, acc: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w1, i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w0, acc));
}

/** the offset of Q8_0's stored levels (dotU8): 128 in the dot-add build, 0 otherwise */
export const Q8_0_LEVEL_OFFSET: i32 = GEMMA_DOT_ADD ? 128 : 0;

/**
 * As dotU16 for 32 elements (a: elements 0..15, b: 16..31). In the relaxed build the two
 * int16 dot results are added before widening: 4 products per lane, 4 * 63 * 127 < 32767.
 */
@inline export function dotU32(a: v128, b: v128, x8: usize, x16: usize, ones: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (GEMMA_DOT_ADD) return dotAdd32(a, b, x8);
    return i32x4.dot_i16x8_s(i16x8.add(
      i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(x8), a),
      i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(x8, 16), b),
    ), ones);
  }
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(a), v128.load(x16)),
      i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(a), v128.load(x16, 16))),
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(b), v128.load(x16, 32)),
      i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(b), v128.load(x16, 48))),
  );
}

/**
 * Plain relaxed build only: integer dot of 32 signed int8 weights (w0: 0..15, w1: 16..31) with 32 int8 activations
 * given as their positive and negative parts x+ = max(x, 0) (p0: elements 0..15, p1: 16..31)
 * and x- = max(-x, 0) (n0, n1), u8 in 0..127 -- the i7 operand of relaxed_dot, so the result
 * is the same on every engine: w.x = w.x+ - w.x-. Returns i32x4 partial sums.
 * Each i16 lane of relaxed_dot is a pair of products with |.| <= 2 * 128 * 127 = 32512 (no
 * saturation); the difference of the two dots is the pair's true sum w_j x_j + w_j+1 x_j+1
 * (one of x+_j, x-_j is 0), again within +-32512, so the wrapping i16 subtraction is exact.
 * Per 32 weights: 4 pmaddubsw + 2 psubw + 2 pmaddwd (widening by `ones`, i16x8 of 1) and
 * no sign extension of the weights (the SIMD128 path needs 4 pmovsxbw + 4 pmaddwd).
 * `ones` comes from the caller (onesI16): widening with extadd_pairwise, V8 reloads its
 * constant's address before every pmaddwd, and a v128.const it rematerializes at every use;
 * a vector computed from a run-time value it keeps in a register (4-5 % faster decode).
 */
@inline export function dotQ8r(w0: v128, w1: v128, p0: v128, p1: v128, n0: v128, n1: v128, ones: v128): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return p0; // never called in the SIMD128 build (nor in the dot-add one: dotU8)
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w0, p0), i16x8.relaxed_dot_i8x16_i7x16_s(w0, n0)), ones),
    i32x4.dot_i16x8_s(i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w1, p1), i16x8.relaxed_dot_i8x16_i7x16_s(w1, n1)), ones));
}

/** i16x8 of 1 built from a run-time value n >= 1 (see dotQ8r: not a constant to V8) */
@inline export function onesI16(n: i32): v128 {
  return i16x8.splat(<i16>min(n, 1));
}

/**
 * i8x16.splat(m) built from a run-time value n >= 1 (see dotQ8r: V8 rebuilds a constant vector
 * at every use, three instructions, but keeps a computed one in a register).
 */
@inline export function byteMask(n: i32, m: i32): v128 {
  return i8x16.splat(<i8>(m * min(n, 1)));
}

/**
 * The high nibbles of the bytes of v (0..15 each): i8x16.shr_u(v, 4) as V8 lowers it (a 16-bit
 * shift and a mask) but with the mask lo = byteMask(n, 0x0f) held in a register; V8 rebuilds
 * its own mask for every i8x16 shift.
 */
@inline export function hiNibbles(v: v128, lo: v128): v128 {
  return v128.and(i16x8.shr_u(v, 4), lo);
}

/**
 * A field of each byte of v moved from bit `from` to bit `to` (compile-time constants) and
 * isolated by `mask` (byteMask of the field at `to`). A 16-bit shift moves the bytes' fields
 * together; the mask drops what crossed from the neighbouring byte, as long as the field lies
 * within its byte at both places. One shift and one and; the i8x16 form (shift, and, shift)
 * costs V8 two shifts, three ands and two rebuilt masks.
 */
@inline export function moveBits(v: v128, from: i32, to: i32, mask: v128): v128 {
  return v128.and(from > to ? i16x8.shr_u(v, from - to) : from < to ? i16x8.shl(v, to - from) : v, mask);
}

/** 4 x 4 transpose of i32 lanes: lane j of rows a..d -> vector j (stored at o + 16 j) */
@inline export function transposeStore(a: v128, b: v128, c: v128, d: v128, o: usize): void {
  const ab0 = v128.shuffle<i32>(a, b, 0, 4, 1, 5), ab1 = v128.shuffle<i32>(a, b, 2, 6, 3, 7);
  const cd0 = v128.shuffle<i32>(c, d, 0, 4, 1, 5), cd1 = v128.shuffle<i32>(c, d, 2, 6, 3, 7);
  v128.store(o, v128.shuffle<i32>(ab0, cd0, 0, 1, 4, 5));
  v128.store(o, v128.shuffle<i32>(ab0, cd0, 2, 3, 6, 7), 16);
  v128.store(o, v128.shuffle<i32>(ab1, cd1, 0, 1, 4, 5), 32);
  v128.store(o, v128.shuffle<i32>(ab1, cd1, 2, 3, 6, 7), 48);
}

/** exp(x) on four lanes: x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6 polynomial, 2^n by
 *  building the exponent bits. Relative error ~2 ulp; inputs are clamped to [-87, 88]. */
@inline export function expx4(x0: v128): v128 {
  // the clamp by pseudo-min/max (one minps/maxps each; a NaN x0 stays NaN, as with min/max)
  const x = f32x4.pmin(f32x4.pmax(x0, f32x4.splat(-87.0)), f32x4.splat(88.0));
  // n = round_even(x log2 e) by the 1.5 * 2^23 add (|x log2 e| <= 127): t's low mantissa bits
  // hold n, so n is t - 1.5 * 2^23 as a float and bits(t) - bits(1.5 * 2^23) as an integer
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const n = f32x4.sub(t, f32x4.splat(12582912.0));
  // r = x - n*ln2 in two parts (Cody-Waite) to keep r exact
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  // e^r = 1 + r + r^2 (1/2 + r (1/6 + r (1/24 + r (1/120 + r/720))))   (Cephes expf coefficients)
  let p = f32x4.splat(1.9875691500e-4);
  p = fma(p, r, f32x4.splat(1.3981999507e-3));
  p = fma(p, r, f32x4.splat(8.3334519073e-3));
  p = fma(p, r, f32x4.splat(4.1665795894e-2));
  p = fma(p, r, f32x4.splat(1.6666665459e-1));
  p = fma(p, r, f32x4.splat(5.0000001201e-1));
  p = fma(p, f32x4.mul(r, r), f32x4.add(r, f32x4.splat(1.0)));
  const e = i32x4.shl(i32x4.sub(t, i32x4.splat(0x4b400000 - 127)), 23);
  return f32x4.mul(p, e);
}

/** tanh on four lanes: sign(x) (1 - 2 / (e^{2|x|} + 1)); for |x| < 0.125 the odd Taylor
 *  series x - x^3/3 + 2x^5/15 - 17x^7/315 keeps the relative error small near 0. */
@inline export function tanhx4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const e = expx4(f32x4.mul(ax, f32x4.splat(2.0)));
  const big = f32x4.sub(f32x4.splat(1.0), f32x4.div(f32x4.splat(2.0), f32x4.add(e, f32x4.splat(1.0))));
  const x2 = f32x4.mul(x, x);
  let p = f32x4.splat(-17.0 / 315.0);
  p = fma(p, x2, f32x4.splat(2.0 / 15.0));
  p = fma(p, x2, f32x4.splat(-1.0 / 3.0));
  const small = fma(f32x4.mul(p, x2), x, x);
  const signed = v128.or(big, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.125)));
}

/** first lane of a scalar pushed through a vector function */
@inline export function lane0(v: v128): f32 { return f32x4.extract_lane(v, 0); }

/** (a, b, c, d) from four scalars (the f32x4(...) literal needs constants) */
@inline export function vec4(a: f32, b: f32, c: f32, d: f32): v128 {
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(a), 1, b), 2, c), 3, d);
}

/**
 * Column panels (index.ts OP_MATMUL; src/kernels/wasm/layout.ts panelSlice): a matrix of long
 * rows is stored in row blocks of PANEL_GROUPS groups, each block's column panels one after
 * the other. While index.ts runs one panel of such a matrix, panelBlockStride is the bytes of
 * one row block (all its panels) and the kernels find group g of the panel at
 * groupPtr(panel base, g, bytes of a group of the panel); 0 otherwise (group g at w + g * gs).
 */
export const PANEL_SHIFT: i32 = 3;
export const PANEL_GROUPS: i32 = 1 << PANEL_SHIFT;
export let panelBlockStride: usize = 0;

@inline export function groupPtr(w: usize, g: i32, gs: usize): usize {
  return panelBlockStride == 0 ? w + <usize>g * gs : w + <usize>(g >> PANEL_SHIFT) * panelBlockStride + <usize>(g & (PANEL_GROUPS - 1)) * gs;
}

/** set panelBlockStride (index.ts, around the calls for one column-panelled matrix) */
@inline export function setPanelBlockStride(s: usize): void { panelBlockStride = s; }
