/**
 * The scale searches shared by ggml's quantizers, in ggml's f32 arithmetic (see f32-math.ts),
 * so our quantized bytes equal llama.cpp's. Each searches, for one group of n values x, a
 * scale (and for the asymmetric kinds a min) plus integer levels L so that
 *     x[i] ≈ scale * (L[i] - nmax)          (make_qx_quants, symmetric, L in 0..2*nmax-1)
 *     x[i] ≈ scale * L[i] - the_min          (make_qkx2/3_quants, asymmetric, L in 0..nmax)
 *     x[i] ≈ scale * L[i]                    (make_qp_quants, x >= 0: the per-group scales)
 * minimising a weighted squared error sum_i w[i] * (x[i] - x̂[i])^2.
 *
 * For fixed levels L the best scale is the weighted least-squares solution
 *     scale = sum w x l / sum w l^2,
 * (and with a free offset, the 2x2 normal equations solved by Cramer's rule:
 *     D = Sw·Sll − Sl², scale = (Sw·Sxl − Sx·Sl)/D, min = (Sll·Sx − Sl·Sxl)/D),
 * and the error of that fit is E = Sxx − (Sxl)²/Sll, so comparing (Sxl)²/Sll between
 * candidates picks the better one. The search tries a few candidate inverse scales around
 * nmax/max, rounds x to levels with each, refits, and keeps the best. Outputs go to caller
 * arrays at given offsets; nothing is allocated.
 */
import { fround as fround_, nearestInt as nearestInt_ } from './f32-math.js';

// hot loops call these through local bindings, not through the import (test runners that
// rewrite imports into module-object reads would turn every call into a getter call)
const fround = fround_, nearestInt = nearestInt_;

/** GROUP_MAX_EPS: groups with max |x| below this quantize to all zeros */
export const GROUP_MAX_EPS = fround(1e-15);

const F01 = fround(0.1);

/**
 * make_qx_quants with rmse_type 1: symmetric levels l in [-nmax, nmax-1], stored as
 * L[lOff+i] = l + nmax. Weights: qw[qwOff+i] when given, else x^2. Tries the inverse
 * scales -(nmax + 0.1*is)/max for is = -9..9 (max = the signed value of largest magnitude,
 * so the extreme lands on level -nmax, the side with one more level). Returns the scale.
 */
export function makeQxQuants(
  n: number, nmax: number, x: Float32Array, xOff: number, L: Uint8Array, lOff: number,
  qw: Float32Array | undefined, qwOff: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xOff + i]!);
    if (ax > amax) { amax = ax; max = x[xOff + i]!; }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  let iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i]!;
    let l = nearestInt(fround(iscale * xi));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lOff + i] = l + nmax;
    const w = qw ? qw[qwOff + i]! : fround(xi * xi);
    sumlx = fround(sumlx + fround(fround(w * xi) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  let scale = suml2 !== 0 ? fround(sumlx / suml2) : 0;
  let best = fround(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fround(-fround(nmax + fround(F01 * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xOff + i]!;
      let l = nearestInt(fround(iscale * xi));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      const w = qw ? qw[qwOff + i]! : fround(xi * xi);
      sumlx = fround(sumlx + fround(fround(w * xi) * l));
      suml2 = fround(suml2 + fround(fround(w * l) * l));
    }
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(fround(iscale * x[xOff + i]!));
        L[lOff + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
    }
  }
  return scale;
}

/** Result slot for the asymmetric searches: the min they found, as a positive offset. */
export interface MinOut { theMin: number }

/**
 * make_qkx2_quants (use_mad = false): asymmetric levels L in [0, nmax] with
 * x ≈ scale*L + min, min <= 0. Starts from the min/max grid, then for is = 0..nstep tries
 * inverse scale (rmin + rdelta*is + nmax)/(max - min), refits scale and min by weighted least
 * squares (min clamped to <= 0) and keeps the candidate with the lowest weighted squared
 * error. Writes levels to L, -min to out.theMin, returns the scale. Laux is scratch (n).
 */
export function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, xOff: number, weights: Float32Array, wOff: number,
  L: Uint8Array, lOff: number, out: MinOut, Laux: Uint8Array,
  rmin: number, rdelta: number, nstep: number,
): number {
  let min = x[xOff]!;
  let max = x[xOff]!;
  let sumW = weights[wOff]!;
  let sumX = fround(sumW * x[xOff]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xOff + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[wOff + i]!;
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    out.theMin = -min;
    return 0;
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i]!;
    const l = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(xi - min)))));
    L[lOff + i] = l;
    const diff = fround(fround(fround(scale * l) + min) - xi);
    bestError = fround(bestError + fround(weights[wOff + i]! * fround(diff * diff)));
  }
  if (nstep < 1) {
    out.theMin = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xOff + i]!;
      const l = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(xi - min)))));
      Laux[i] = l;
      const w = weights[wOff + i]!;
      const wl = fround(w * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * xi));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (D > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        const diff = fround(fround(fround(thisScale * Laux[i]!) + thisMin) - x[xOff + i]!);
        curError = fround(curError + fround(weights[wOff + i]! * fround(diff * diff)));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lOff + i] = Laux[i]!;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  out.theMin = -min;
  return scale;
}

/**
 * make_qkx3_quants (weights given, use_mad = false): as makeQkx2Quants, used by ggml's
 * importance-weighted quantizers. Differences: an empty range is max <= min, and in the
 * search a level is 0 for v <= 0 and nearest_int(min(v, nmax)) otherwise (no wrap on
 * out-of-range v once min has moved).
 */
export function makeQkx3Quants(
  n: number, nmax: number, x: Float32Array, xOff: number, weights: Float32Array, wOff: number,
  L: Uint8Array, lOff: number, out: MinOut, Laux: Uint8Array,
  rmin: number, rdelta: number, nstep: number,
): number {
  let min = x[xOff]!;
  let max = x[xOff]!;
  let sumW = weights[wOff]!;
  let sumX = fround(sumW * x[xOff]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xOff + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[wOff + i]!;
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * xi));
  }
  if (min > 0) min = 0;
  if (max <= min) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    out.theMin = -min;
    return 0;
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestMad = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i]!;
    const l = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(xi - min)))));
    L[lOff + i] = l;
    const diff = fround(fround(fround(scale * l) + min) - xi);
    bestMad = fround(bestMad + fround(weights[wOff + i]! * fround(diff * diff)));
  }
  if (nstep < 1) {
    out.theMin = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xOff + i]!;
      const v = fround(iscale * fround(xi - min));
      const l = v > 0 ? nearestInt(v < nmax ? v : nmax) : 0;
      Laux[i] = l;
      const w = weights[wOff + i]!;
      const wl = fround(w * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * xi));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (D > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let mad = 0;
      for (let i = 0; i < n; i++) {
        const diff = fround(fround(fround(thisScale * Laux[i]!) + thisMin) - x[xOff + i]!);
        mad = fround(mad + fround(weights[wOff + i]! * fround(diff * diff)));
      }
      if (mad < bestMad) {
        for (let i = 0; i < n; i++) L[lOff + i] = Laux[i]!;
        bestMad = mad;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  out.theMin = -min;
  return scale;
}

/**
 * make_qp_quants: quantize n non-negative values x (the per-group scales or mins of a
 * K-quant super-block) to levels L in [0, nmax] with x ≈ scale*L, weighted by qw (the
 * groups' total importance). Tries inverse scales (nmax + 0.1*is)/max for is = -4..4 by
 * weighted MSE, then up to 5 rounds of coordinate descent: each level is moved to the
 * value the least-squares scale of the others suggests, kept if (Sxl)²/Sll grows.
 * L is a Uint8Array: like ggml's uint8_t L, a negative level would wrap.
 */
export function makeQpQuants(n: number, nmax: number, x: Float32Array, L: Uint8Array, qw: Float32Array): number {
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, x[i]!);
  if (max < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[i] = 0;
    return 0;
  }
  let iscale = fround(nmax / max);
  for (let i = 0; i < n; i++) L[i] = nearestInt(fround(iscale * x[i]!)) & 0xff;
  const scale = fround(1 / iscale);
  let bestMse = 0;
  for (let i = 0; i < n; i++) {
    const diff = fround(x[i]! - fround(scale * L[i]!));
    bestMse = fround(bestMse + fround(fround(qw[i]! * diff) * diff));
  }
  for (let is = -4; is <= 4; is++) {
    if (is === 0) continue;
    const iscaleIs = fround(fround(fround(F01 * is) + nmax) / max);
    const scaleIs = fround(1 / iscaleIs);
    let mse = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.min(nmax, nearestInt(fround(iscaleIs * x[i]!)));
      const diff = fround(x[i]! - fround(scaleIs * l));
      mse = fround(mse + fround(fround(qw[i]! * diff) * diff));
    }
    if (mse < bestMse) {
      bestMse = mse;
      iscale = iscaleIs;
    }
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.min(nmax, nearestInt(fround(iscale * x[i]!)));
    L[i] = l & 0xff;
    const w = qw[i]!;
    sumlx = fround(sumlx + fround(fround(w * x[i]!) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const w = qw[i]!;
      const li = L[i]!;
      let slx = fround(sumlx - fround(fround(w * x[i]!) * li));
      let sl2 = fround(suml2 - fround(fround(w * li) * li));
      if (slx > 0 && sl2 > 0) {
        const newL = Math.min(nmax, nearestInt(fround(fround(x[i]! * sl2) / slx)));
        if (newL !== li) {
          slx = fround(slx + fround(fround(w * x[i]!) * newL));
          sl2 = fround(sl2 + fround(fround(w * newL) * newL));
          if (fround(fround(slx * slx) * suml2) > fround(fround(sumlx * sumlx) * sl2)) {
            L[i] = newL & 0xff;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (!nChanged) break;
  }
  return suml2 > 0 ? fround(sumlx / suml2) : 0;
}
