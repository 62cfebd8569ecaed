/**
 * GGUF path against llama.cpp (node-llama-cpp's CPU build): a vocab-only GGUF carrying the
 * real Gemma 2/3 vocabulary, llama.cpp's SentencePiece-BPE tokenizer (special text parsed)
 * vs fromGgufMetadata on the same metadata, on the seeded corpus (the same corpus and seeds
 * as parity-*.test.ts, where the ids also equal @huggingface/tokenizers').
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ggufToBuffer, ggufTyped, GgufType, writeGguf } from '../../src/format/gguf.js';
import { GemmaTokenizer } from '../../src/tokenizer/index.js';
import { llama } from '../helpers/llama-ref.js';
import { makeCorpus } from './corpus.js';
import { readFileSync } from 'node:fs';
import { firstDiff, ggufMetaFromTokenizerJson, vocabPath } from './helpers.js';

const disposers: (() => Promise<void>)[] = [];
afterAll(async () => { for (const d of disposers) await d(); });

/** A GGUF with Gemma 3 hyper-parameters (tiny), the tokenizer metadata and no tensors. */
async function vocabOnlyGguf(meta: Map<string, unknown>): Promise<string> {
  const m = new Map<string, ReturnType<typeof ggufTyped>>();
  m.set('general.architecture', ggufTyped('gemma3'));
  for (const [k, v] of [['context_length', 1024], ['embedding_length', 64], ['block_count', 1], ['feed_forward_length', 128],
    ['attention.head_count', 2], ['attention.head_count_kv', 1], ['attention.key_length', 32], ['attention.value_length', 32]] as const) {
    m.set(`gemma3.${k}`, ggufTyped(v));
  }
  m.set('gemma3.attention.layer_norm_rms_epsilon', ggufTyped(1e-6, GgufType.FLOAT32));
  for (const [k, v] of meta) m.set(k, ggufTyped((typeof v === 'bigint' ? Number(v) : v) as never));
  const path = join(mkdtempSync(join(tmpdir(), 'gemma-vocab-')), 'vocab.gguf');
  writeFileSync(path, await ggufToBuffer(writeGguf(m, [])));
  return path;
}

for (const [which, seed] of [['gemma3', 3], ['gemma2', 2]] as const) {
  describe(`${which} vocabulary: llama.cpp tokenizer`, () => {
    it('fromGgufMetadata gives llama.cpp\'s ids on the corpus', async () => {
      const meta = ggufMetaFromTokenizerJson(JSON.parse(readFileSync(vocabPath(which), 'utf8')));
      const l = await llama();
      const model = await l.loadModel({ modelPath: await vocabOnlyGguf(meta), vocabOnly: true } as never);
      disposers.push(() => model.dispose());
      const ours = GemmaTokenizer.fromGgufMetadata(meta, which);
      const corpus = makeCorpus({ seed, count: 2200 });
      const bad: string[] = [];
      for (const s of corpus) {
        const want = Array.from(model.tokenize(s, true)) as number[];
        const got = ours.encode(s);
        if (got.join() !== want.join()) bad.push(`${JSON.stringify(s).slice(0, 60)} ${firstDiff(got, want)}`);
      }
      // (parity-*.test.ts holds the same ids against @huggingface/tokenizers)
      expect(bad.slice(0, 10)).toEqual([]);
    }, 120_000);
  });
}
