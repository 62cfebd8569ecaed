/**
 * Bad input never hangs or crashes: corrupt protobuf and JSON, duplicate pieces, missing
 * byte pieces, invalid UTF-8, inconsistent GGUF metadata all end in a typed GemmaError.
 */
import { describe, expect, it } from 'vitest';
import { GemmaError } from '../../src/errors.js';
import { GemmaTokenizer, tokenizerFromFiles } from '../../src/tokenizer/index.js';
import { mulberry32 } from './corpus.js';
import { ProtoWriter, writeModelProto } from './proto-writer.js';

const pieces = ['<pad>', '<eos>', '<bos>', '<unk>', '<0x41>', 'a', 'b', 'ab', '▁', '▁a', '<start_of_turn>'];
const types = [3, 3, 3, 2, 6, 1, 1, 1, 1, 1, 4];
const scores = pieces.map((_, i) => -i);
const model = (): Uint8Array => writeModelProto({ pieces, scores, types, unkId: 3, bosId: 2, eosId: 1, padId: 0,
  byteFallback: true, addDummyPrefix: false, removeExtraWhitespaces: false });

/** Either a tokenizer or a GemmaError, nothing else. */
function outcome(f: () => GemmaTokenizer): GemmaTokenizer | GemmaError {
  try { return f(); } catch (e) {
    if (e instanceof GemmaError) return e;
    throw new Error(`not a GemmaError: ${String(e)}`);
  }
}

const codeOf = (f: () => unknown): string => {
  try { f(); } catch (e) { if (e instanceof GemmaError) return e.code; throw e; }
  return 'no error';
};

describe('tokenizer.model', () => {
  it('the intact model loads', () => {
    const t = GemmaTokenizer.fromSentencePieceModel(model());
    expect(t.encode('ab a')).toEqual([7, 9]);
  });

  it('every truncation is a typed error or a smaller valid model', () => {
    const bytes = model();
    for (let n = 0; n < bytes.length; n++) outcome(() => GemmaTokenizer.fromSentencePieceModel(bytes.subarray(0, n)));
    expect(outcome(() => GemmaTokenizer.fromSentencePieceModel(bytes.subarray(0, 5)))).toBeInstanceOf(GemmaError);
  });

  it('random byte corruption is a typed error or a model, never a crash or a hang', () => {
    const r = mulberry32(3);
    const bytes = model();
    for (let k = 0; k < 2000; k++) {
      const b = bytes.slice();
      for (let j = 0; j < 1 + Math.floor(r() * 4); j++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      const t = outcome(() => GemmaTokenizer.fromSentencePieceModel(b));
      if (!(t instanceof GemmaError)) t.encode('ab <start_of_turn> a\u00e9');
    }
  });

  it('a huge declared length does not allocate: TOKENIZER error', () => {
    const b = new ProtoWriter().tag(1, 2).varint(2 ** 40).finish();
    expect(codeOf(() => GemmaTokenizer.fromSentencePieceModel(b))).toBe('TOKENIZER');
  });

  it('duplicate pieces are DUPLICATE', () => {
    const dup = writeModelProto({ pieces: [...pieces, 'ab'], scores: [...scores, -99], types: [...types, 1], unkId: 3, bosId: 2, eosId: 1, padId: 0,
      byteFallback: true, addDummyPrefix: false, removeExtraWhitespaces: false });
    expect(codeOf(() => GemmaTokenizer.fromSentencePieceModel(dup))).toBe('DUPLICATE');
  });

  it('a Unigram model is refused clearly', () => {
    const uni = writeModelProto({ pieces, scores, types, unkId: 3, bosId: 2, eosId: 1, padId: 0, byteFallback: true,
      addDummyPrefix: false, removeExtraWhitespaces: false, modelType: 1 });
    expect(() => GemmaTokenizer.fromSentencePieceModel(uni)).toThrow(/UNIGRAM is not supported/);
  });

  it('invalid UTF-8 in a piece is a TOKENIZER error', () => {
    const b = new ProtoWriter().message(1, new ProtoWriter().bytes(1, Uint8Array.of(0x61, 0xff)).float(2, 0)).finish();
    expect(codeOf(() => GemmaTokenizer.fromSentencePieceModel(b))).toBe('TOKENIZER');
  });

  it('bos/eos ids past the vocabulary are refused', () => {
    const b = writeModelProto({ pieces, scores, types, unkId: 3, bosId: 99, eosId: 1, padId: 0, byteFallback: true, addDummyPrefix: false, removeExtraWhitespaces: false });
    expect(codeOf(() => GemmaTokenizer.fromSentencePieceModel(b))).toBe('TOKENIZER');
  });
});

describe('tokenizer.json', () => {
  const json = GemmaTokenizer.fromPieces({ pieces, scores, types }).toTokenizerJson();

  it('loads from text, bytes and object alike', () => {
    const want = GemmaTokenizer.fromPieces({ pieces, scores, types }).encode('ab a<start_of_turn>');
    expect(GemmaTokenizer.fromTokenizerJson(json).encode('ab a<start_of_turn>')).toEqual(want);
    expect(GemmaTokenizer.fromTokenizerJson(new TextEncoder().encode(json)).encode('ab a<start_of_turn>')).toEqual(want);
    expect(GemmaTokenizer.fromTokenizerJson(JSON.parse(json)).encode('ab a<start_of_turn>')).toEqual(want);
  });

  it('merges written with other JSON escapes than the vocab keys still resolve', () => {
    const vocab = JSON.stringify({ 'é': 0, a: 1, 'éa': 2, '\\': 3, '\\a': 4 });
    const text = `{"model":{"type":"BPE","vocab":${vocab},"merges":[["\\u00e9","a"],["\\u005c","a"]]}}`;
    expect(text).toContain('\\u00e9');
    const t = GemmaTokenizer.fromTokenizerJson(text);
    expect(t.encode('éa')).toEqual([2]);
    expect(t.encode('\\a')).toEqual([4]);
  });

  it('every truncation and random corruption is a TOKENIZER error (or still valid)', () => {
    for (let n = 0; n < json.length; n += 3) {
      const t = outcome(() => GemmaTokenizer.fromTokenizerJson(json.slice(0, n)));
      expect(t).toBeInstanceOf(GemmaError);
    }
    const r = mulberry32(9);
    const bytes = new TextEncoder().encode(json);
    for (let k = 0; k < 1000; k++) {
      const b = bytes.slice();
      b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      const t = outcome(() => GemmaTokenizer.fromTokenizerJson(b));
      if (!(t instanceof GemmaError)) t.encode('ab a');
    }
  });

  it('two pieces with one id, or one piece twice, are DUPLICATE', () => {
    const obj = JSON.parse(json);
    obj.model.vocab['zz'] = 5;
    expect(codeOf(() => GemmaTokenizer.fromTokenizerJson(obj))).toBe('DUPLICATE');
    const text = json.replace('"ab":7', '"ab":7,"ab":12');
    expect(text).not.toBe(json);
    expect(codeOf(() => GemmaTokenizer.fromTokenizerJson(text))).toBe('DUPLICATE');
  });

  it('a gap in the ids, a merge of unknown pieces, an unknown model type are TOKENIZER errors', () => {
    const gap = JSON.parse(json); gap.model.vocab['zz'] = 40;
    expect(codeOf(() => GemmaTokenizer.fromTokenizerJson(gap))).toBe('TOKENIZER');
    const merge = JSON.parse(json); merge.model.merges.push(['q', 'r']);
    expect(codeOf(() => GemmaTokenizer.fromTokenizerJson(merge))).toBe('TOKENIZER');
    const uni = JSON.parse(json); uni.model.type = 'Unigram';
    expect(codeOf(() => GemmaTokenizer.fromTokenizerJson(uni))).toBe('TOKENIZER');
    expect(codeOf(() => GemmaTokenizer.fromTokenizerJson(new Uint8Array([0x7b, 0xff, 0x7d])))).toBe('TOKENIZER');
  });

  it('deeply nested junk does not overflow the stack', () => {
    const deep = '{"x":' + '['.repeat(200_000) + ']'.repeat(200_000) + ',"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}';
    expect(GemmaTokenizer.fromTokenizerJson(deep).encode('a')).toEqual([0]);
  });
});

describe('GGUF metadata and bare pieces', () => {
  const base = (): Map<string, unknown> => GemmaTokenizer.fromPieces({ pieces, scores, types }).toGgufMetadata();

  it('round-trips', () => {
    expect(GemmaTokenizer.fromGgufMetadata(base()).encode('ab a')).toEqual([7, 9]);
  });

  it('wrong tokenizer model, mismatched lengths, bad ids and types are typed errors', () => {
    const cases: [string, unknown][] = [
      ['tokenizer.ggml.model', 'gpt2'],
      ['tokenizer.ggml.scores', new Float32Array(3)],
      ['tokenizer.ggml.token_type', new Int32Array(pieces.length).fill(9)],
      ['tokenizer.ggml.tokens', [...pieces, 42]],
      ['tokenizer.ggml.bos_token_id', 1000],
      ['tokenizer.ggml.eos_token_id', 1.5],
    ];
    for (const [k, v] of cases) {
      const m = base(); m.set(k, v);
      expect(codeOf(() => GemmaTokenizer.fromGgufMetadata(m)), k).toBe('TOKENIZER');
    }
    const dup = base();
    dup.set('tokenizer.ggml.tokens', pieces.map((p) => (p === 'b' ? 'a' : p)));
    expect(codeOf(() => GemmaTokenizer.fromGgufMetadata(dup))).toBe('DUPLICATE');
    const big = base(); big.set('tokenizer.ggml.bos_token_id', 2n);
    expect(GemmaTokenizer.fromGgufMetadata(big).bosId).toBe(2);
  });

  it('fromPieces checks its input', () => {
    expect(codeOf(() => GemmaTokenizer.fromPieces({ pieces: ['a', 'a'], scores: [0, 0], types: [1, 1] }))).toBe('DUPLICATE');
    expect(codeOf(() => GemmaTokenizer.fromPieces({ pieces: ['a', ''], scores: [0, 0], types: [1, 1] }))).toBe('TOKENIZER');
    expect(codeOf(() => GemmaTokenizer.fromPieces({ pieces: ['a'], scores: [0, 0], types: [1] }))).toBe('TOKENIZER');
    expect(codeOf(() => GemmaTokenizer.fromPieces({ pieces: ['<0xZZ>'], scores: [0], types: [6] }))).toBe('TOKENIZER');
    expect(codeOf(() => GemmaTokenizer.fromPieces({ pieces: ['a'], scores: [0], types: [1], bosId: 3 }))).toBe('BAD_ARGUMENT');
  });
});

describe('tokenizerFromFiles', () => {
  const json = GemmaTokenizer.fromPieces({ pieces, scores, types }).toTokenizerJson();
  it('prefers tokenizer.json, reads the chat template and the eos token of tokenizer_config.json', () => {
    const cfg = JSON.stringify({ chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }],
      bos_token: '<bos>', eos_token: { content: '<start_of_turn>' }, add_bos_token: true, add_eos_token: false });
    const got = tokenizerFromFiles({ 'tokenizer.json': json, 'tokenizer.model': new Uint8Array([1, 2, 3]), 'tokenizer_config.json': cfg });
    expect(got.source).toBe('tokenizer.json');
    expect(got.chatTemplate).toBe('D');
    expect(got.eosToken).toBe('<start_of_turn>');
    expect(got.addBosToken).toBe(true);
    expect(got.tokenizer.stopIds).toContain(10);
    expect(got.tokenizer.stopIds).toContain(1);
  });
  it('falls back to tokenizer.model; no tokenizer at all, or bad config JSON, is TOKENIZER', () => {
    expect(tokenizerFromFiles({ 'tokenizer.model': model() }).source).toBe('tokenizer.model');
    expect(codeOf(() => tokenizerFromFiles({}))).toBe('TOKENIZER');
    expect(codeOf(() => tokenizerFromFiles({ 'tokenizer.json': json, 'tokenizer_config.json': '{' }))).toBe('TOKENIZER');
  });
});
