/**
 * Quantized models vs llama.cpp: a synthetic F32 GGUF is quantized with the `gemma-ts quantize`
 * code path, llama.cpp (node-llama-cpp 3.21.1) evaluates that file, and our reference backend
 * evaluates the same file, in exact mode and in ggmlCompat mode (activations rounded to the
 * weights' vec_dot_type as ggml does: Q8_0 / Q8_1 / Q8_K).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { quantizeModelFile } from '../../src/cli/commands/quantize.js';
import { readGguf } from '../../src/format/gguf.js';
import { ggufStore } from '../../src/format/store.js';
import { BufferSource } from '../../src/io/source.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { configFromGguf } from '../../src/model/gguf-config.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { GemmaModel } from '../../src/model/model.js';
import { llamaLogProbs } from '../helpers/llama-ref.js';
import { type Agreement, compareLogProbs, logSoftmaxRows, testTokens } from '../helpers/models.js';
import { QUANT_TEST_DIR, quantTestGgufFile } from './quant-models.js';

/** positions compared: tiny windows are 16, so positions 16..47 attend through a sliding window */
export const POSITIONS = 48;

export interface ParityResult {
  exact: Agreement;
  compat: Agreement;
  /** compat: positions where every finite log-prob agrees with llama.cpp to 1e-4 */
  compatExactPositions: number;
  /** tensor types in the file */
  types: string[];
}

async function ours(buf: Uint8Array, tokens: number[], compat: boolean): Promise<Float64Array[]> {
  const f = await readGguf(new BufferSource(buf, 'q.gguf'));
  const cfg = configFromGguf(f);
  const backend = new ReferenceBackend({ ggmlCompat: compat });
  const model = new GemmaModel(cfg, backend, await loadWeights(ggufStore(f), cfg, backend), { contextLength: tokens.length });
  try {
    return logSoftmaxRows(await model.logits(tokens, { allLogits: true }), cfg.vocabSize);
  } finally {
    model.dispose();
  }
}

export async function quantParity(model: string, recipe: string): Promise<ParityResult> {
  const input = await quantTestGgufFile(model, 'f32');
  const out = join(QUANT_TEST_DIR, `${model}-${recipe.replace(/[^a-z0-9_]/g, '_')}.gguf`);
  const res = await quantizeModelFile(input, out, recipe);
  const buf = new Uint8Array(await readFile(out));
  const vocab = configFromGguf(await readGguf(new BufferSource(buf, out))).vocabSize;
  const tokens = testTokens(POSITIONS, vocab);
  const ref = await llamaLogProbs(out, tokens, vocab);
  const exact = compareLogProbs(await ours(buf, tokens, false), ref);
  const c = await ours(buf, tokens, true);
  const compat = compareLogProbs(c, ref);
  let compatExactPositions = 0;
  c.forEach((row, p) => {
    let m = 0;
    for (let i = 0; i < row.length; i++) if (Number.isFinite(ref[p]![i]!)) m = Math.max(m, Math.abs(row[i]! - ref[p]![i]!));
    if (m <= 1e-4) compatExactPositions++;
  });
  return { exact, compat, compatExactPositions, types: [...new Set(res.tensors.filter((t) => !t.isNorm).map((t) => t.dtype))].sort() };
}

export function formatParity(model: string, recipe: string, r: ParityResult): string {
  const f = (a: Agreement) => `KL ${a.meanKl.toExponential(1)}, top-1 ${(a.top1 * 100).toFixed(1)}%, max|Δ| ${a.maxAbs.toExponential(1)}`;
  return `${model} ${recipe} [${r.types.join(' ')}]: exact ${f(r.exact)} | compat ${f(r.compat)}, ${r.compatExactPositions}/${POSITIONS} positions within 1e-4`;
}

/** recipes run on the hidden-64 preset (32-block types; q4_k_m there exercises the fallback) */
export const H64_RECIPES = ['f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k_m'];
/** recipes run on the hidden-256 variant (K-quants on every matrix: the _m mixes, q6_k, and pure q4_k / q5_k) */
export const K256_RECIPES = ['q4_k_m', 'q5_k_m', 'q6_k', 'q4_k/pure', 'q5_k/pure'];

/**
 * The parity bar of issue 3 for one family, in every supported type:
 *  - ggmlCompat mode, per file: top-1 agreement >= 95% and mean KL <= 1e-2 over 48 positions;
 *    for block types also >= 4 positions where every log-prob agrees to 1e-4 (exact mode has
 *    none: its activations are not rounded), i.e. llama.cpp's arithmetic is reproduced and the
 *    rest is isolated rounding flips (an activation landing on the other side of a Q8 level);
 *  - exact mode (the engine's own arithmetic): mean KL <= 1e-2 per file, top-1 >= 90% per
 *    file and >= 95% pooled over the family's 13 files (624 positions). These synthetic
 *    models have near-uniform next-token distributions, so llama.cpp's 8-bit activation
 *    rounding alone flips the argmax at a few percent of positions of a single file.
 */
export function describeQuantParity(family: string, it: (name: string, fn: () => Promise<void>, timeout?: number) => void,
  expect: (v: unknown, msg?: string) => { toBeGreaterThanOrEqual(n: number): void; toBeLessThanOrEqual(n: number): void },
  afterAll: (fn: () => void) => void): void {
  const lines: string[] = [];
  let agree = 0, total = 0;
  afterAll(() => console.log([`quantized ${family} vs llama.cpp (${POSITIONS} positions):`, ...lines].join('\n  ')));
  const cases = [...H64_RECIPES.map((r) => [family, r] as const), ...K256_RECIPES.map((r) => [`${family}-k256`, r] as const)];
  for (const [model, recipe] of cases) {
    it(`${model} ${recipe}`, async () => {
      const r = await quantParity(model, recipe);
      lines.push(formatParity(model, recipe, r));
      agree += Math.round(r.exact.top1 * r.exact.positions);
      total += r.exact.positions;
      expect(r.compat.top1, 'compat top-1').toBeGreaterThanOrEqual(0.95);
      expect(r.compat.meanKl, 'compat mean KL').toBeLessThanOrEqual(1e-2);
      if (recipe !== 'f16' && recipe !== 'bf16') expect(r.compatExactPositions, 'compat positions within 1e-4').toBeGreaterThanOrEqual(4);
      expect(r.exact.meanKl, 'exact mean KL').toBeLessThanOrEqual(1e-2);
      expect(r.exact.top1, 'exact top-1').toBeGreaterThanOrEqual(0.9);
    }, 120_000);
  }
  it(`exact mode: pooled top-1 >= 95% over all ${cases.length} files`, async () => {
    expect(total, 'positions compared').toBeGreaterThanOrEqual(cases.length * POSITIONS);
    lines.push(`exact mode pooled top-1: ${agree}/${total} = ${((100 * agree) / total).toFixed(1)}%`);
    expect(agree / total, 'pooled exact top-1').toBeGreaterThanOrEqual(0.95);
  });
}
