/**
 * Id-for-id parity with @huggingface/tokenizers on the real Gemma vocabularies, through
 * every loader: tokenizer.json (bytes and parsed object), GGUF metadata built from the
 * same vocabulary, and a tokenizer.model written by a protobuf writer inside the test.
 */
import { beforeAll, expect, it } from 'vitest';
import { GemmaTokenizer } from '../../src/tokenizer/index.js';
import { makeCorpus, roundTrips } from './corpus.js';
import { firstDiff, ggufMetaFromTokenizerJson, readVocabBytes, referenceTokenizer, VOCABS, wellFormed } from './helpers.js';
import { writeModelProto } from './proto-writer.js';

export function parityTests(which: keyof typeof VOCABS, seed: number): void {
  let ref: ReturnType<typeof referenceTokenizer>;
  let ours: GemmaTokenizer;
  let corpus: string[];
  let expected: number[][];

  beforeAll(() => {
    ours = GemmaTokenizer.fromTokenizerJson(readVocabBytes(which), which);
    ref = referenceTokenizer(which);
    corpus = makeCorpus({ seed, count: 2200 });
    expected = corpus.map((s) => ref.encode(s));
  }, 120_000);

  it('the corpus covers every category and is large enough', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(2000);
    expect(corpus).toContain('');
    for (const re of [/ {2,}/, /\t/, /\n/, /\p{Extended_Pictographic}/u, /\p{Script=Han}/u, /\p{Script=Arabic}/u, /\p{M}/u, /<start_of_turn>/, /[\u{f0000}-\u{10ffff}]/u]) {
      expect(corpus.some((s) => re.test(s)), String(re)).toBe(true);
    }
    // byte fallback really happens, and special tokens really appear
    const all = expected.flat();
    expect(all.some((id) => /^<0x[0-9A-F]{2}>$/.test(ours.idToPiece(id)!))).toBe(true);
    expect(all).toContain(ours.pieceToId('<start_of_turn>'));
  });

  it('tokenizer.json: 100 % equal ids on the corpus', () => {
    const bad: string[] = [];
    corpus.forEach((s, i) => {
      const got = ours.encode(s);
      if (got.join() !== expected[i]!.join()) bad.push(`${JSON.stringify(s).slice(0, 80)} ${firstDiff(got, expected[i]!)}`);
    });
    expect(bad.slice(0, 10)).toEqual([]);
  });

  it('decode(encode(s)) == s and agrees with the reference decoder', () => {
    const bad: string[] = [];
    corpus.forEach((s, i) => {
      const ids = ours.encode(s);
      const text = ours.decode(ids);
      if (roundTrips(s) && text !== wellFormed(s)) bad.push(`roundtrip ${JSON.stringify(s).slice(0, 60)} → ${JSON.stringify(text).slice(0, 60)}`);
      if (ids.length > 0 && text !== ref.decode(expected[i]!)) bad.push(`decode ${JSON.stringify(s).slice(0, 60)}`);
    });
    expect(bad.slice(0, 10)).toEqual([]);
  });

  it('streaming decode gives the same text as decode, one id at a time', () => {
    for (const s of corpus.slice(0, 600)) {
      const ids = ours.encode(s);
      const dec = ours.createStreamDecoder();
      let text = '';
      for (const id of ids) {
        const piece = dec.push(id);
        // never half a character: every chunk is well-formed UTF-16
        expect(wellFormed(piece)).toBe(piece);
        text += piece;
      }
      text += dec.flush();
      expect(text).toBe(ours.decode(ids));
    }
  });

  it('a parsed-object tokenizer.json gives the same ids', () => {
    const fromObject = GemmaTokenizer.fromTokenizerJson(ref.json, which);
    for (let i = 0; i < corpus.length; i += 7) expect(fromObject.encode(corpus[i]!)).toEqual(expected[i]);
  });

  it('GGUF metadata built from the same vocabulary (score-ranked merges): 100 % equal ids', () => {
    const meta = ggufMetaFromTokenizerJson(ref.json);
    const gguf = GemmaTokenizer.fromGgufMetadata(meta, which);
    expect(gguf.vocabSize).toBe(ours.vocabSize);
    expect(gguf.bosId).toBe(2);
    expect(gguf.eosId).toBe(1);
    const bad: string[] = [];
    corpus.forEach((s, i) => {
      const got = gguf.encode(s);
      if (got.join() !== expected[i]!.join()) bad.push(`${JSON.stringify(s).slice(0, 80)} ${firstDiff(got, expected[i]!)}`);
    });
    expect(bad.slice(0, 10)).toEqual([]);
  });

  it('tokenizer.model (ModelProto written in the test) gives the same ids as GGUF', () => {
    const meta = ggufMetaFromTokenizerJson(ref.json);
    const bytes = writeModelProto({
      pieces: meta.get('tokenizer.ggml.tokens') as string[],
      scores: meta.get('tokenizer.ggml.scores') as Float32Array,
      types: meta.get('tokenizer.ggml.token_type') as Int32Array,
      unkId: 3, bosId: 2, eosId: 1, padId: 0, byteFallback: true, addDummyPrefix: false, removeExtraWhitespaces: false,
    });
    const sp = GemmaTokenizer.fromSentencePieceModel(bytes, which);
    for (let i = 0; i < corpus.length; i += 3) expect(sp.encode(corpus[i]!)).toEqual(expected[i]);
  });

  it('allowSpecial: false keeps control-token text literal: no control id, same text back', () => {
    const control = ['<start_of_turn>', '<end_of_turn>', '<bos>', '<eos>', '<pad>', '<unk>', '<mask>', '<unused0>', '<unused42>',
      '<start_of_image>', '<end_of_image>', '<image_soft_token>'].map((p) => ours.pieceToId(p)).filter((id) => id !== undefined);
    expect(control.length).toBeGreaterThanOrEqual(9);
    const texts = corpus.filter((s) => /<(start|end)_of_|<bos>|<eos>|<unused|<image_soft/.test(s));
    expect(texts.length).toBeGreaterThan(50);
    for (const s of texts) {
      const ids = ours.encode(s, { allowSpecial: false });
      for (const id of control) expect(ids).not.toContain(id);
      if (roundTrips(s)) expect(ours.decode(ids)).toBe(wellFormed(s));
    }
    expect(ours.encode('<start_of_turn>', { allowSpecial: false }).length).toBeGreaterThan(1);
  });

  it('toGgufMetadata → fromGgufMetadata keeps the ids', () => {
    const back = GemmaTokenizer.fromGgufMetadata(ours.toGgufMetadata(), which);
    for (let i = 0; i < corpus.length; i += 5) expect(back.encode(corpus[i]!)).toEqual(expected[i]);
    expect(back.stopIds).toEqual(expect.arrayContaining([...ours.stopIds]));
  });
}
