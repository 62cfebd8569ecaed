/**
 * The CI fuzz run: 11 600 seeded cases over seven targets (npm run fuzz runs 105 000).
 * Every case must end in success or a GemmaError:
 *   - no other exception (TypeError, RangeError, ...),
 *   - no hang or crash of the worker process, no case over its CPU-time bound
 *     (2 s for load + 2-token generation, 3 s for a template case),
 *   - no single allocation over 16 MB (the inputs are < 1 MB: a bigger one is a header
 *     number believed), and the worker's heap after GC may grow at most 48 MB over a run.
 * A failure prints the reproduce line: npm run fuzz -- --target T --corpus C --seed S --case I
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { formatStats, fuzz, type FuzzStats } from './driver.js';
import type { TargetName } from './targets.js';

const SEED = 20250601;
const PLAN: [TargetName, number][] = [
  ['gguf', 3000], ['safetensors', 2000], ['config', 1500], ['tokenizer-json', 1500],
  ['tokenizer-model', 2000], ['tokenizer-config', 1000], ['template', 600],
];
const MAX_ALLOC = 16 << 20;
const MAX_HEAP_GROWTH = 48 << 20;

const stats = new Map<TargetName, FuzzStats>();

beforeAll(async () => {
  // two workers at a time (the CI machine has two cores)
  const queue = [...PLAN];
  await Promise.all([0, 1].map(async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const s = await fuzz({ target: job[0], seed: SEED, cases: job[1], maxAllocBytes: MAX_ALLOC });
      stats.set(job[0], s);
      console.log(formatStats(s));
    }
  }));
}, 600_000);

describe('fuzz: hostile model files end in success or GemmaError', () => {
  it.each(PLAN)('%s: %i cases', (target, cases) => {
    const s = stats.get(target)!;
    expect(s.failures.map((f) => `${f.failure.kind}: ${f.failure.message} — ${f.desc} — ${f.repro}`), formatStats(s)).toEqual([]);
    expect(s.cases).toBe(cases);
    // the mutations reach past the first check: loads that succeed, and several kinds of error
    expect(s.ok).toBeGreaterThan(cases / 100);
    // (a tokenizer file or a template can only fail in a couple of ways: TOKENIZER/DUPLICATE, TEMPLATE/LIMIT)
    expect(Object.keys(s.codes).length).toBeGreaterThanOrEqual(target === 'tokenizer-model' || target === 'template' ? 2 : 3);
    expect(s.heap.final - s.heap.baseline, formatStats(s)).toBeLessThan(MAX_HEAP_GROWTH);
  });

  it('at least 10 000 cases in all', () => {
    expect([...stats.values()].reduce((n, s) => n + s.cases, 0)).toBeGreaterThanOrEqual(10_000);
  });
});
