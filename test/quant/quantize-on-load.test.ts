/**
 * Quantize-on-load: loading a safetensors directory through quantizeTransform gives the same
 * weights (types and bytes) and the same logits as loading the GGUF that `gemma-ts quantize`
 * writes from that directory; and that GGUF (tokenizer carried over from tokenizer.json)
 * loads and runs in llama.cpp.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantizeModelFile } from '../../src/cli/commands/quantize.js';
import { readGguf } from '../../src/format/gguf.js';
import { ggufStore } from '../../src/format/store.js';
import { nodeDirFileSet } from '../../src/io/node-dir.js';
import { BufferSource } from '../../src/io/source.js';
import { ReferenceBackend, type RefWeight } from '../../src/kernels/reference/index.js';
import { configFromGguf } from '../../src/model/gguf-config.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { GemmaModel } from '../../src/model/model.js';
import { allWeights } from '../../src/model/weights.js';
import { quantizeTransform, type TensorQuantRecord } from '../../src/quant/quantize-model.js';
import { openHfModel } from '../../src/quant/source-model.js';
import { GemmaTokenizer } from '../../src/tokenizer/index.js';
import { llamaLogProbs } from '../helpers/llama-ref.js';
import { compareLogProbs, logSoftmaxRows, testTokens } from '../helpers/models.js';
import { QUANT_TEST_DIR, quantTestHfDir } from './quant-models.js';

const N = 40;

async function onLoad(dir: string, recipe: string) {
  const src = await openHfModel(nodeDirFileSet(dir));
  const records: TensorQuantRecord[] = [];
  const backend = new ReferenceBackend();
  const weights = await loadWeights(src.store, src.config, backend, { transform: quantizeTransform(recipe, src.config, { onTensor: (r) => records.push(r) }) });
  await src.close();
  return { model: new GemmaModel(src.config, backend, weights, { contextLength: N }), records };
}

async function fromGguf(path: string, compat = false) {
  const buf = new Uint8Array(await readFile(path));
  const f = await readGguf(new BufferSource(buf, path));
  const cfg = configFromGguf(f);
  const backend = new ReferenceBackend({ ggmlCompat: compat });
  return { model: new GemmaModel(cfg, backend, await loadWeights(ggufStore(f), cfg, backend), { contextLength: N }), file: f, buf };
}

describe('quantize-on-load (safetensors) equals quantize-then-load (GGUF)', () => {
  for (const [name, dtype, recipe] of [
    ['tiny-gemma-3', 'f32', 'q8_0'], ['tiny-gemma-2', 'bf16', 'q4_1'], ['tiny-gemma', 'f32', 'q4_k_m'], ['tiny-gemma-3-k256', 'bf16', 'q4_k_m'],
  ] as const) {
    it(`${name} ${dtype} -> ${recipe}: same tensor types, bytes and logits`, async () => {
      const dir = await quantTestHfDir(name, dtype);
      const out = join(QUANT_TEST_DIR, `${name}-${dtype}-hf-${recipe}.gguf`);
      await quantizeModelFile(dir, out, recipe);
      const a = await onLoad(dir, recipe);
      const b = await fromGguf(out);
      // every weight matrix: stored in the GGUF's type, with the GGUF's bytes
      const wa = allWeights(a.model.weights) as RefWeight[];
      const wb = new Map((allWeights(b.model.weights) as RefWeight[]).map((w) => [w.name, w]));
      const quantized = a.records.filter((r) => r.stored !== 'f32' && r.stored !== r.source);
      expect(quantized.length, 'some tensors were re-encoded').toBeGreaterThan(0);
      for (const r of a.records) {
        const g = b.file.tensorByName.get(r.name)!;
        expect(r.stored, r.name).toBe(g.dtype);
      }
      let compared = 0;
      for (const w of wa) {
        const gname = a.records.find((r) => r.hfName === w.name)?.name;
        if (!gname) continue; // norms: compared through the logits
        compared++;
        const other = wb.get(gname)!;
        expect(w.dtype, w.name).toBe(other.dtype);
        expect(Buffer.compare(Buffer.from(w.data), Buffer.from(other.data)), w.name).toBe(0);
      }
      expect(compared, 'every weight matrix compared').toBe(a.records.length);
      const toks = testTokens(N, a.model.config.vocabSize);
      const la = await a.model.logits(toks, { allLogits: true });
      const lb = await b.model.logits(toks, { allLogits: true });
      expect(Buffer.compare(Buffer.from(la.buffer), Buffer.from(lb.buffer)), 'logits bit for bit').toBe(0);
      a.model.dispose();
      b.model.dispose();
    }, 120_000);
  }

  it('the GGUF written from safetensors carries the tokenizer and runs in llama.cpp', async () => {
    const dir = await quantTestHfDir('tiny-gemma-3', 'f32');
    const out = join(QUANT_TEST_DIR, 'tiny-gemma-3-hf-llama.gguf');
    await quantizeModelFile(dir, out, 'q4_0');
    const { model, file } = await fromGguf(out, true);
    // the vocabulary in the GGUF encodes like the tokenizer.json it came from
    const fromJson = GemmaTokenizer.fromTokenizerJson(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
    const fromMeta = GemmaTokenizer.fromGgufMetadata(file.metadata as Map<string, unknown>);
    const text = 'The quick brown fox jumps over the lazy dog.';
    expect(fromMeta.encode(text)).toEqual(fromJson.encode(text));
    expect(file.metadata.get('general.file_type')).toBe(2); // LLAMA_FTYPE_MOSTLY_Q4_0
    const toks = testTokens(N, model.config.vocabSize);
    const ref = await llamaLogProbs(out, toks, model.config.vocabSize);
    const ours = logSoftmaxRows(await model.logits(toks, { allLogits: true }), model.config.vocabSize);
    const a = compareLogProbs(ours, ref);
    expect(a.top1).toBeGreaterThanOrEqual(0.95);
    expect(a.meanKl).toBeLessThanOrEqual(1e-2);
    model.dispose();
  }, 120_000);
});
