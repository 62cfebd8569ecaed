/** Small seeded PRNGs for synthetic weights, sampling and tests. */

/** mulberry32: 32-bit state, good enough for weights and sampling. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a hash of a string mixed with a seed: stable per-tensor seeds independent of order. */
export function hashSeed(seed: number, s: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h;
}

/** Fill `out` with N(mean, std) values (Box-Muller). */
export function fillNormal(out: Float32Array, rand: () => number, std: number, mean = 0): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - rand(), v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = mean + r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
