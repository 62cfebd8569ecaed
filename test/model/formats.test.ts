/**
 * One model, two files: the same seeded weights written as a safetensors directory (HF
 * names, norms as w) and as GGUF (llama.cpp names, norms as 1+w) must give the same logits;
 * sharded safetensors must load like a single file; prefill and token-by-token decode agree.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSynth } from '../../src/cli/commands/synth.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { getPreset } from '../../src/model/config.js';
import { loadPath } from '../../src/node.js';
import { TEST_DIR, testTokens } from '../helpers/models.js';

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function logitsOf(path: string, toks: number[]) {
  const l = await loadPath(path, { backend: new ReferenceBackend(), contextLength: 64 });
  try { return await l.model.logits(toks, { allLogits: true }); } finally { l.model.dispose(); await l.close(); }
}

describe('safetensors and GGUF carry the same model', () => {
  for (const preset of ['tiny-gemma', 'tiny-gemma-2', 'tiny-gemma-3']) {
    for (const dtype of ['f32', 'bf16'] as const) {
      it(`${preset} ${dtype}: logits within 1e-5 (single and sharded safetensors)`, async () => {
        const dir = await mkdtemp(join(TEST_DIR, 'fmt-'));
        const toks = testTokens(24, getPreset(preset).vocabSize, 3);
        const gguf = await writeSynth(preset, dtype, 'gguf', 7, join(dir, 'm.gguf'));
        const st = await writeSynth(preset, dtype, 'safetensors', 7, join(dir, 'st'));
        const sh = await writeSynth(preset, dtype, 'safetensors', 7, join(dir, 'sh'), 3);
        const a = await logitsOf(gguf, toks), b = await logitsOf(st, toks), c = await logitsOf(sh, toks);
        expect(maxDiff(a, b)).toBeLessThanOrEqual(1e-5);
        expect(maxDiff(b, c)).toBe(0);
        // a different seed is a different model (the comparison can fail)
        const other = await logitsOf(await writeSynth(preset, dtype, 'gguf', 8, join(dir, 'o.gguf')), toks);
        expect(maxDiff(a, other)).toBeGreaterThan(1e-2);
      });
    }
  }
});

describe('KV cache', () => {
  for (const preset of ['tiny-gemma', 'tiny-gemma-2', 'tiny-gemma-3']) {
    it(`${preset}: batched prefill == token-by-token decode (40 positions, window crossed) within 1e-5`, async () => {
      const dir = await mkdtemp(join(TEST_DIR, 'kv-'));
      const path = await writeSynth(preset, 'f32', 'gguf', 3, join(dir, 'm.gguf'));
      const l = await loadPath(path, { backend: new ReferenceBackend(), contextLength: 64, prefillChunk: 16 });
      const V = l.config.vocabSize;
      const toks = testTokens(40, V, 5);
      const all = await l.model.logits(toks, { allLogits: true }); // prefill in chunks of 16
      const cache = l.model.newCache();
      let m = 0;
      for (let i = 0; i < toks.length; i++) {
        const step = await l.model.eval([toks[i]!], cache);
        m = Math.max(m, maxDiff(step, all.subarray(i * V, (i + 1) * V)));
      }
      expect(m).toBeLessThanOrEqual(1e-5);
      // ring buffer: sliding layers keep window + chunk - 1 slots, not the whole context
      if (l.config.slidingWindow !== null) {
        const caps = cache.layers.map((x) => x.capacity);
        expect(Math.min(...caps)).toBe(l.config.slidingWindow + 16 - 1);
      }
      cache.dispose();
      l.model.dispose();
      await l.close();
    });
  }
});
