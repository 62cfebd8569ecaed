import { describe, expect, it } from 'vitest';
import { applyPenalties, resolveSampling, Sampler, samplingDistribution, topIndices } from '../../src/api/sampler.js';
import { StopMatcher } from '../../src/api/stop-strings.js';
import { mulberry32 } from '../../src/util/rng.js';

/** The sampling pipeline written from its description (HF/llama.cpp), with plain arrays and full sorts. */
function specDistribution(logits: number[], o: { temperature: number; topK: number; topP: number; minP: number }): Map<number, number> {
  let c = logits.map((l, id) => ({ id, l })).sort((a, b) => b.l - a.l || a.id - b.id);
  if (o.topK > 0) c = c.slice(0, o.topK);
  const m = c[0]!.l;
  const z = c.reduce((s, x) => s + Math.exp((x.l - m) / o.temperature), 0);
  let p = c.map((x) => ({ id: x.id, p: Math.exp((x.l - m) / o.temperature) / z }));
  if (o.topP < 1) {
    const kept = [];
    let cum = 0;
    for (const x of p) { kept.push(x); cum += x.p; if (cum >= o.topP) break; }
    p = kept;
  }
  if (o.minP > 0) { const top = p[0]!.p; p = p.filter((x, i) => i === 0 || x.p >= o.minP * top); }
  const s = p.reduce((a, x) => a + x.p, 0);
  return new Map(p.map((x) => [x.id, x.p / s]));
}

function randomLogits(n: number, seed: number, scale = 3): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 2 * scale);
}

describe('sampler', () => {
  it('top-k / temperature / top-p / min-p distribution matches the spec implementation', () => {
    const cases = [
      { temperature: 1, topK: 0, topP: 1, minP: 0 },
      { temperature: 0.7, topK: 10, topP: 1, minP: 0 },
      { temperature: 1.3, topK: 0, topP: 0.9, minP: 0 },
      { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 },
      { temperature: 1, topK: 5, topP: 0.5, minP: 0.2 },
    ];
    for (const [i, c] of cases.entries()) {
      const logits = randomLogits(300, 10 + i);
      const want = specDistribution(Array.from(logits), c);
      const got = samplingDistribution(logits, resolveSampling({ ...c, seed: 1 }));
      expect(got.ids.length).toBe(want.size);
      got.ids.forEach((id, k) => expect(got.probs[k]!).toBeCloseTo(want.get(id)!, 9));
    }
  });

  it('without top-k on a 262k vocabulary the pre-selection keeps it exact', () => {
    const logits = randomLogits(262_144, 77, 6);
    for (const c of [{ temperature: 1, topK: 0, topP: 0.9, minP: 0 }, { temperature: 0.7, topK: 0, topP: 1, minP: 0.02 }, { temperature: 1.5, topK: 0, topP: 0.5, minP: 0.001 }]) {
      const want = specDistribution(Array.from(logits), c);
      const t0 = performance.now();
      const got = samplingDistribution(logits, resolveSampling({ ...c, seed: 1 }));
      const ms = performance.now() - t0;
      expect(got.ids.length).toBe(want.size);
      got.ids.forEach((id, k) => expect(got.probs[k]!).toBeCloseTo(want.get(id)!, 9));
      expect(ms).toBeLessThan(5000); // random logits: the top-p set itself is most of the vocabulary
    }
  });

  it('draws tokens with the frequencies of that distribution', () => {
    const logits = randomLogits(50, 3, 1.5);
    const o = { temperature: 1, topK: 8, topP: 1, minP: 0 };
    const want = specDistribution(Array.from(logits), o);
    const s = new Sampler(resolveSampling({ ...o, seed: 42 }));
    const N = 20000, counts = new Map<number, number>();
    for (let i = 0; i < N; i++) { const id = s.sample(logits.slice(), []); counts.set(id, (counts.get(id) ?? 0) + 1); }
    for (const id of counts.keys()) expect(want.has(id)).toBe(true);
    for (const [id, p] of want) {
      const f = (counts.get(id) ?? 0) / N;
      expect(Math.abs(f - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / N) + 1e-3);
    }
  });

  it('applies repetition, presence and frequency penalties over the last N tokens', () => {
    const logits = Float32Array.from([2, -2, 1, 0.5, -1]);
    applyPenalties(logits, [9, 9, 0, 1, 1, 1, 3], resolveSampling({ repetitionPenalty: 2, presencePenalty: 0.5, frequencyPenalty: 0.25, penaltyLastN: 5, seed: 1 }));
    // window [0, 1, 1, 1, 3]: id0 c=1, id1 c=3, id3 c=1
    expect(Array.from(logits)).toEqual([2 / 2 - 0.5 - 0.25, -2 * 2 - 0.5 - 0.75, 1, 0.5 / 2 - 0.5 - 0.25, -1].map(Math.fround));
  });

  it('topIndices equals a full sort (ties by id)', () => {
    const x = Float32Array.from([1, 3, 3, 0, 5, 1, 3]);
    expect(topIndices(x, 3)).toEqual([4, 1, 2]);
    expect(topIndices(x, 0)).toEqual([4, 1, 2, 6, 0, 5, 3]);
    const big = randomLogits(5000, 9);
    const full = [...big.keys()].sort((a, b) => big[b]! - big[a]! || a - b);
    expect(topIndices(big, 37)).toEqual(full.slice(0, 37));
  });

  it('temperature 0 is argmax after penalties', () => {
    const s = new Sampler(resolveSampling({ temperature: 0, repetitionPenalty: 10 }));
    expect(s.sample(Float32Array.from([1, 3, 2]), [1])).toBe(2);
  });
});

describe('stop strings', () => {
  it('never emits a stop string or text after it, whatever the chunking', () => {
    const text = 'Hello wor<STOP>ld and more';
    const r = mulberry32(5);
    for (let trial = 0; trial < 200; trial++) {
      const m = new StopMatcher(['<STOP>', 'xyz']);
      let out = '', hit: string | undefined;
      for (let i = 0; i < text.length && hit === undefined;) {
        const n = 1 + Math.floor(r() * 4);
        const res = m.push(text.slice(i, i + n));
        out += res.emit;
        hit = res.hit;
        i += n;
      }
      expect(hit).toBe('<STOP>');
      expect(out).toBe('Hello wor');
    }
    const m = new StopMatcher(['abc']);
    expect(m.push('xxab').emit).toBe('xx');
    expect(m.push('d').emit).toBe('abd');
    expect(m.push('a').emit).toBe('');
    expect(m.flush()).toBe('a');
  });
});
