/**
 * Quantize -> dequantize round trips on seeded data.
 *
 * 1. Nearest-grid property. Each block stores a grid of representable values (its scale(s)
 *    and levels); rounding to nearest means every decoded element is the grid value nearest
 *    to the input. The grid is rebuilt here from the stored bytes (spec-helpers.ts):
 *    - K-quants (q4_k, q5_k, q6_k) re-derive every level from the *stored* scales, so the
 *      property holds exactly (slack 1e-5 of a step for f32 rounding near ties).
 *    - the simple formats (q8_0, q4_0, q4_1, q5_0, q5_1, q8_k) pick levels with the f32 scale
 *      *before* it is rounded to f16 (as ggml does), so an element may be one level off the
 *      f16 grid when x/d sits within nmax*|d32 - d16|/d16 (+ |min32 - m16|/d16) levels of a
 *      midpoint; choosing the farther of two levels around a midpoint at distance t costs 2t,
 *      so the slack is 2*(nmax*|d32 - d16| + |min32 - m16|). d32 is recomputed here from the
 *      data and the stored d16 must equal its f16 rounding.
 * 2. RMSE. With rounding to nearest on a grid of step Δ, the error of an element inside the
 *    grid's range is uniform on [-Δ/2, Δ/2] for smooth data, so MSE ≈ Δ²/12 (the classic
 *    uniform-quantizer noise). Per block we take Δ from the data as a plain min/max grid
 *    would (q8_0: amax/127, q4_0: amax/8, q5_0: amax/16, q4_1: (max-min)/15,
 *    q5_1: (max-min)/31, q4_k/q5_k: (max - min(min,0))/15 or /31 per 32, q6_k: amax/32 per
 *    16, q8_k: amax/127 per 256) and require RMSE <= 1.25 * sqrt(mean Δ²/12). The margin
 *    covers the sampling spread of the MSE (~5% at these sizes), f16 scale rounding (2^-11),
 *    the 6-bit scale/min rounding of K-quants and the top-level clamp of q4_0/q5_0; a bug
 *    that puts an element one level off costs ~Δ and blows through it.
 */
import { describe, expect, it } from 'vitest';
import { getCodec } from '../../src/quant/index.js';
import { mulberry32, normalArray } from './rng.js';
import { bits, f16At, f32At, int8, k4ScaleMin, toF16Value } from './spec-helpers.js';

const fr = Math.fround;
const BLOCK_TYPES = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k', 'q8_k'] as const;
type BlockType = (typeof BLOCK_TYPES)[number];

function roundTrip(name: string, x: Float32Array, importance?: Float32Array): { bytes: Uint8Array; y: Float32Array } {
  const c = getCodec(name);
  const bytes = new Uint8Array((x.length / c.blockSize) * c.blockBytes);
  c.quantizeRow(x, 0, x.length, bytes, 0, importance);
  const y = new Float32Array(x.length);
  c.dequantizeRow(bytes, 0, y, 0, x.length);
  return { bytes, y };
}

function amaxSigned(x: Float32Array, o: number, n: number): number {
  let amax = 0, max = 0;
  for (let i = 0; i < n; i++) if (Math.abs(x[o + i]!) > amax) { amax = Math.abs(x[o + i]!); max = x[o + i]!; }
  return max;
}
function minMax(x: Float32Array, o: number, n: number): [number, number] {
  let mn = Infinity, mx = -Infinity;
  for (let i = 0; i < n; i++) { mn = Math.min(mn, x[o + i]!); mx = Math.max(mx, x[o + i]!); }
  return [mn, mx];
}

/**
 * For element e of the row: all values its group's grid can represent, and the allowed slack.
 * Built from the stored bytes of its block plus (for the simple formats) the data's own d32.
 */
function gridOf(t: BlockType, bytes: Uint8Array, x: Float32Array, e: number): { grid: number[]; slack: number } {
  const c = getCodec(t);
  const k = Math.floor(e / c.blockSize);
  const b = bytes.subarray(k * c.blockBytes, (k + 1) * c.blockBytes);
  const i = e % c.blockSize;
  const x0 = k * c.blockSize;
  const range = (lo: number, hi: number, f: (q: number) => number) => {
    const g: number[] = [];
    for (let q = lo; q <= hi; q++) g.push(f(q));
    return g;
  };
  switch (t) {
    case 'q8_0': case 'q4_0': case 'q5_0': {
      const [div, lo, hi] = t === 'q8_0' ? [127, -127, 127] : t === 'q4_0' ? [-8, -8, 7] : [-16, -16, 15];
      const d32 = t === 'q8_0' ? fr(Math.abs(amaxSigned(x, x0, 32)) / 127) : fr(amaxSigned(x, x0, 32) / div);
      const d16 = f16At(b, 0);
      expect(d16).toBe(toF16Value(d32));
      return { grid: range(lo, hi, (q) => fr(q * d16)), slack: 2 * Math.max(Math.abs(lo), hi) * Math.abs(d32 - d16) + 1e-6 * Math.abs(x[e]!) };
    }
    case 'q4_1': case 'q5_1': {
      const nmax = t === 'q4_1' ? 15 : 31;
      const [mn, mx] = minMax(x, x0, 32);
      const d32 = fr(fr(mx - mn) / nmax);
      const d16 = f16At(b, 0), m16 = f16At(b, 2);
      expect(d16).toBe(toF16Value(d32));
      expect(m16).toBe(toF16Value(mn));
      return { grid: range(0, nmax, (q) => fr(fr(q * d16) + m16)), slack: 2 * (nmax * Math.abs(d32 - d16) + Math.abs(mn - m16)) + 1e-6 * Math.abs(x[e]!) };
    }
    case 'q8_k': {
      const d = f32At(b, 0);
      const max = amaxSigned(x, x0, 256);
      if (max !== 0) expect(d).toBe(fr(1 / fr(-127 / max)));
      return { grid: range(-128, 127, (q) => fr(d * q)), slack: 1e-5 * Math.abs(d) };
    }
    case 'q4_k': case 'q5_k': {
      const nmax = t === 'q4_k' ? 15 : 31;
      const [sc, m] = k4ScaleMin(b, 4, Math.floor(i / 32));
      const s = fr(f16At(b, 0) * sc), mm = fr(f16At(b, 2) * m);
      if (s === 0) return { grid: [fr(0 - mm)], slack: 0 };
      return { grid: range(0, nmax, (q) => fr(fr(s * q) - mm)), slack: 1e-5 * s };
    }
    case 'q6_k': {
      const s = fr(f16At(b, 208) * int8(b, 192 + Math.floor(i / 16)));
      return { grid: range(-32, 31, (q) => fr(s * q)), slack: 1e-5 * Math.abs(s) + 1e-30 };
    }
  }
}

/** indices whose decoded value is farther from x than the nearest grid value (+ slack) */
function gridViolations(t: BlockType, bytes: Uint8Array, x: Float32Array, y: Float32Array): number[] {
  const bad: number[] = [];
  for (let e = 0; e < x.length; e++) {
    const { grid, slack } = gridOf(t, bytes, x, e);
    const best = Math.min(...grid.map((g) => Math.abs(x[e]! - g)));
    if (Math.abs(x[e]! - y[e]!) > best + slack) bad.push(e);
  }
  return bad;
}

/** sqrt(mean Δ²/12) with the per-group naive step Δ described in the header */
function uniformNoiseRms(t: BlockType, x: Float32Array): number {
  const group = t === 'q6_k' ? 16 : t === 'q8_k' ? 256 : 32;
  let sum = 0;
  for (let o = 0; o < x.length; o += group) {
    const [mn, mx] = minMax(x, o, group);
    const amax = Math.max(Math.abs(mn), Math.abs(mx));
    const delta = {
      q8_0: amax / 127, q8_k: amax / 127, q4_0: amax / 8, q5_0: amax / 16, q6_k: amax / 32,
      q4_1: (mx - mn) / 15, q5_1: (mx - mn) / 31,
      q4_k: (mx - Math.min(mn, 0)) / 15, q5_k: (mx - Math.min(mn, 0)) / 31,
    }[t];
    sum += delta * delta * group;
  }
  return Math.sqrt(sum / x.length / 12);
}

function rmse(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i]! - y[i]!) ** 2;
  return Math.sqrt(s / x.length);
}

describe('round trip: nearest grid value and RMSE within the uniform-noise bound', () => {
  for (const t of BLOCK_TYPES) {
    const blockSize = getCodec(t).blockSize;
    for (const seed of [1, 2, 3]) {
      it(`${t}: seed ${seed}, odd number of blocks`, () => {
        const rng = mulberry32(seed * 1000 + t.length);
        const nBlocks = blockSize === 256 ? 5 : 37;
        const sigma = [1, 0.02, 30][seed - 1]!;
        const x = normalArray(rng, nBlocks * blockSize, sigma);
        const { bytes, y } = roundTrip(t, x);
        expect(gridViolations(t, bytes, x, y)).toEqual([]);
        const bound = 1.25 * uniformNoiseRms(t, x);
        const r = rmse(x, y);
        expect(r).toBeLessThanOrEqual(bound);
        expect(r).toBeGreaterThan(0); // the data is not on any grid: some error must remain
      });
    }
  }
});

describe('round trip edge cases', () => {
  /** one row of 256 (a whole number of blocks for every type) built from 32-element pieces */
  function pieces(...ps: ((i: number) => number)[]): Float32Array {
    const x = new Float32Array(256);
    for (let p = 0; p < 8; p++) for (let i = 0; i < 32; i++) x[32 * p + i] = ps[p % ps.length]!(i);
    return x;
  }
  const rng = mulberry32(99);
  const noise = normalArray(rng, 256);

  for (const t of BLOCK_TYPES) {
    it(`${t}: all zeros decode to exact zeros`, () => {
      const { y } = roundTrip(t, new Float32Array(512));
      expect(y.every((v) => v === 0)).toBe(true);
    });

    it(`${t}: constant rows (positive and negative) come back within f16 precision`, () => {
      // (not tiny constants: K-quant super-scales d = scale/63 (or /128) would be f16
      // subnormals there and lose relative precision - a property of the format)
      for (const c of [0.37, -2.5, 12]) {
        const { y } = roundTrip(t, new Float32Array(256).fill(c));
        // the constant is the extreme of every group and lands on a level: the only error is
        // the f16 (or 6-bit/8-bit scale) rounding of the scale, relative 2^-11 .. 2^-10
        for (const v of y) expect(Math.abs(v - c)).toBeLessThanOrEqual(Math.abs(c) * 2 ** -9);
      }
    });

    it(`${t}: a single huge outlier survives; small neighbours collapse toward 0`, () => {
      const x = pieces((i) => (i === 5 ? 1000 : 0.01 * noise[i]!));
      const { y } = roundTrip(t, x);
      for (let p = 0; p < 8; p++) {
        expect(Math.abs(y[32 * p + 5]! - 1000)).toBeLessThanOrEqual(1000 * 2 ** -8);
      }
      // neighbours: the step is ~1000/nmax, so their error is bounded by one step
      const nmax = { q8_0: 127, q8_k: 127, q4_0: 8, q5_0: 16, q6_k: 32, q4_1: 15, q5_1: 31, q4_k: 15, q5_k: 31 }[t];
      for (let e = 0; e < 256; e++) if (e % 32 !== 5) expect(Math.abs(y[e]! - x[e]!)).toBeLessThanOrEqual(1000 / nmax);
    });

    it(`${t}: negative-only and positive-only data stay within the RMSE bound, grid property holds`, () => {
      for (const sign of [-1, 1]) {
        const x = new Float32Array(512);
        for (let i = 0; i < 512; i++) x[i] = sign * Math.abs(rng.normal());
        const { bytes, y } = roundTrip(t, x);
        expect(gridViolations(t, bytes, x, y)).toEqual([]);
        expect(rmse(x, y)).toBeLessThanOrEqual(1.25 * uniformNoiseRms(t, x));
      }
    });
  }

  it('exact grid data round-trips exactly (q4_0 integers -8..7 with d = -1, q8_0 multiples of 1/64)', () => {
    const x = new Float32Array(64);
    for (let i = 0; i < 64; i++) x[i] = (i % 16) - 7; // -7..8: the 8 sets d = 8/-8 = -1, levels 15..0
    const plus0 = (a: Float32Array) => [...a].map((v) => v + 0); // level 0 decodes as 0*d = -0 when d < 0
    expect(plus0(roundTrip('q4_0', x).y)).toEqual([...x]);
    const z = new Float32Array(64);
    for (let i = 0; i < 64; i++) z[i] = ((i * 37) % 255 - 127) / 64; // amax 127/64 -> d = 1/64 exactly
    expect(roundTrip('q8_0', z).y).toEqual(z);
  });
});

describe('importance weights (imatrix) steer the error', () => {
  const ITYPES = ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k'] as const;
  for (const t of ITYPES) {
    it(`${t}: weighted squared error with importance is lower than without`, () => {
      const rng = mulberry32(7 + t.length);
      const n = 512;
      // skewed importance: a few columns matter a lot (like real imatrix statistics)
      const imp = new Float32Array(n);
      for (let i = 0; i < n; i++) imp[i] = Math.exp(2 * rng.normal());
      let withImp = 0, without = 0;
      for (let row = 0; row < 8; row++) {
        const x = normalArray(rng, n);
        const a = roundTrip(t, x, imp).y;
        const b = roundTrip(t, x).y;
        for (let i = 0; i < n; i++) {
          withImp += imp[i]! * (x[i]! - a[i]!) ** 2;
          without += imp[i]! * (x[i]! - b[i]!) ** 2;
        }
      }
      expect(withImp).toBeLessThan(without);
    });
  }

  it('importance is ignored where ggml ignores it (q8_0, q8_k)', () => {
    const x = normalArray(mulberry32(5), 256);
    const imp = new Float32Array(256).fill(3);
    for (const t of ['q8_0', 'q8_k']) expect(roundTrip(t, x, imp).bytes).toEqual(roundTrip(t, x).bytes);
  });
});

describe('plain float codecs', () => {
  it('f16 / bf16 / f32 round trips are within half an ulp of the format', () => {
    const x = normalArray(mulberry32(11), 1024, 3);
    const h = roundTrip('f16', x).y, b = roundTrip('bf16', x).y, f = roundTrip('f32', x).y;
    for (let i = 0; i < x.length; i++) {
      expect(h[i]).toBe(toF16Value(x[i]!));
      // bf16 keeps 8 significant bits: half-ulp relative error <= 2^-8 (for normal values)
      expect(Math.abs(b[i]! - x[i]!)).toBeLessThanOrEqual(Math.abs(x[i]!) * 2 ** -8);
      expect(f[i]).toBe(x[i]);
    }
  });
});

describe('argument guards', () => {
  it('rejects partial blocks, short buffers, non-finite input and bad importance with BAD_ARGUMENT', () => {
    const c = getCodec('q4_k');
    const x = new Float32Array(512);
    const code = (f: () => void) => { try { f(); return 'none'; } catch (e) { return (e as { code?: string }).code; } };
    expect(code(() => c.quantizeRow(x, 0, 300, new Uint8Array(1000), 0))).toBe('BAD_ARGUMENT');
    expect(code(() => c.quantizeRow(x, 0, 512, new Uint8Array(287), 0))).toBe('BAD_ARGUMENT');
    expect(code(() => c.dequantizeRow(new Uint8Array(288), 1, new Float32Array(512), 0, 512))).toBe('BAD_ARGUMENT');
    expect(code(() => c.dequantizeRow(new Uint8Array(288), 0, new Float32Array(511), 0, 512))).toBe('BAD_ARGUMENT');
    expect(code(() => c.dotRow(new Uint8Array(288), 0, new Float32Array(256), 0, 512))).toBe('BAD_ARGUMENT');
    expect(code(() => c.dotRow(new Uint8Array(288), -1, new Float32Array(512), 0, 512))).toBe('BAD_ARGUMENT');
    const nan = new Float32Array(256); nan[3] = NaN;
    expect(code(() => c.quantizeRow(nan, 0, 256, new Uint8Array(144), 0))).toBe('BAD_ARGUMENT');
    expect(code(() => c.quantizeRow(x, 0, 256, new Uint8Array(144), 0, new Float32Array(100)))).toBe('BAD_ARGUMENT');
    expect(code(() => c.quantizeRow(x, 0, 256, new Uint8Array(144), 0, new Float32Array(256).fill(-1)))).toBe('BAD_ARGUMENT');
    expect(code(() => c.quantizeRow(x, 0, 256, new Uint8Array(144), 0))).toBe('none');
  });
});
