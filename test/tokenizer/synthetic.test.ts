/**
 * Small synthetic vocabularies: score-ranked BPE against two independent references
 * (a naive SentencePiece BPE written here from the algorithm's description, and
 * @huggingface/tokenizers on the exported tokenizer.json), byte fallback, literal mode,
 * streaming decode, exports, and the SentencePiece normalizer defaults.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { GemmaTokenizer, PieceType } from '../../src/tokenizer/index.js';
import { mulberry32 } from './corpus.js';
import { writeModelProto } from './proto-writer.js';

interface Vocab { pieces: string[]; scores: number[]; types: number[] }

/** A BPE-like vocabulary: control pieces, bytes, chars, then merges of earlier pieces with falling scores. */
function makeVocab(seed: number, merges = 300): Vocab {
  const r = mulberry32(seed);
  const pieces = ['<pad>', '<eos>', '<bos>', '<unk>', '<start_of_turn>', '<end_of_turn>', '<b>'];
  const types: number[] = [3, 3, 3, 2, 4, 4, 4];
  for (let b = 0; b < 256; b++) { pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`); types.push(6); }
  const chars = [...'abcdeé▁\n', '東', '😀'];
  for (const c of chars) { pieces.push(c); types.push(1); }
  const seen = new Set(pieces);
  const normal = chars.slice();
  for (let k = 0; k < merges * 20 && normal.length < chars.length + merges; k++) {
    const p = normal[Math.floor(r() * normal.length)]! + normal[Math.floor(r() * Math.min(normal.length, 12))]!;
    if (p.length > 8 || seen.has(p)) continue;
    seen.add(p); normal.push(p); pieces.push(p); types.push(1);
  }
  // distinct scores, falling with creation order, so every reference agrees on the order
  const scores = pieces.map((_, i) => (types[i] === 1 ? -i - r() * 0.5 : 0));
  return { pieces, scores, types };
}

function utf8(s: string): number[] { return [...new TextEncoder().encode(s)]; }

/** The algorithm as described: merge the best-scoring adjacent pair, leftmost on ties, until none is left. */
function naiveBpe(v: Vocab, text: string): number[] {
  const id = new Map(v.pieces.map((p, i) => [p, i] as const));
  const mergeable = (k: number): boolean => v.types[k] === 1 || v.types[k] === 4;
  const out: number[] = [];
  // whole tokens first (user-defined always, control too by default)
  const atomic = v.pieces.map((p, i) => [p, i] as const).filter(([, i]) => v.types[i] === 2 || v.types[i] === 3 || v.types[i] === 4)
    .sort((a, b) => b[0].length - a[0].length);
  let seg = '';
  const flush = (): void => {
    if (!seg) return;
    const syms = Array.from(seg.replaceAll(' ', '▁'));
    for (;;) {
      let best = -1, bestScore = -Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = id.get(syms[i]! + syms[i + 1]!);
        if (k !== undefined && mergeable(k) && v.scores[k]! > bestScore) { best = i; bestScore = v.scores[k]!; }
      }
      if (best < 0) break;
      syms.splice(best, 2, syms[best]! + syms[best + 1]!);
    }
    for (const s of syms) {
      const k = id.get(s);
      if (k !== undefined && v.types[k] !== 3) out.push(k);
      else for (const b of utf8(s)) out.push(id.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!);
    }
    seg = '';
  };
  for (let i = 0; i < text.length;) {
    const hit = atomic.find(([p]) => text.startsWith(p, i));
    if (hit) { flush(); out.push(hit[1]); i += hit[0].length; } else { seg += text[i]; i++; }
  }
  flush();
  return out;
}

function randomText(r: () => number): string {
  const bits = ['a', 'b', 'c', 'd', 'e', 'é', ' ', '  ', '\n', '東', '😀', 'x', 'Ω', '<start_of_turn>', '<b>', '<bos>', 'ab', 'cab', '\t'];
  let s = '';
  const n = Math.floor(r() * 30);
  for (let i = 0; i < n; i++) s += bits[Math.floor(r() * bits.length)];
  return s;
}

describe('score-ranked BPE on synthetic vocabularies', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: equals a naive SentencePiece BPE and HF tokenizers on the exported tokenizer.json`, () => {
      const v = makeVocab(seed);
      const tok = GemmaTokenizer.fromPieces({ pieces: v.pieces, scores: v.scores, types: v.types });
      const hf = new Tokenizer(JSON.parse(tok.toTokenizerJson()), {});
      const r = mulberry32(seed * 99);
      for (let k = 0; k < 400; k++) {
        const s = randomText(r);
        const ids = tok.encode(s);
        expect(ids, JSON.stringify(s)).toEqual(naiveBpe(v, s));
        expect(ids, JSON.stringify(s)).toEqual(hf.encode(s, { add_special_tokens: false }).ids);
        expect(tok.decode(ids)).toBe(s);
      }
    });
  }

  it('the same vocabulary through GGUF metadata and tokenizer.model gives the same ids', () => {
    const v = makeVocab(5);
    const tok = GemmaTokenizer.fromPieces({ pieces: v.pieces, scores: v.scores, types: v.types });
    const viaGguf = GemmaTokenizer.fromGgufMetadata(tok.toGgufMetadata());
    const viaModel = GemmaTokenizer.fromSentencePieceModel(writeModelProto({
      pieces: v.pieces, scores: v.scores, types: v.types, unkId: 3, bosId: 2, eosId: 1, padId: 0,
      byteFallback: true, addDummyPrefix: false, removeExtraWhitespaces: false,
    }));
    const viaJson = GemmaTokenizer.fromTokenizerJson(tok.toTokenizerJson());
    const r = mulberry32(11);
    for (let k = 0; k < 200; k++) {
      const s = randomText(r);
      const want = naiveBpe(v, s);
      expect(viaGguf.encode(s)).toEqual(want);
      expect(viaModel.encode(s)).toEqual(want);
      expect(viaJson.encode(s)).toEqual(want);
    }
    expect([viaGguf.bosId, viaGguf.eosId, viaGguf.padId]).toEqual([2, 1, 0]);
    expect(viaModel.stopIds).toContain(5); // <end_of_turn>
    const meta = tok.toGgufMetadata();
    expect(meta.get('tokenizer.ggml.model')).toBe('llama');
    expect(meta.get('tokenizer.ggml.add_bos_token')).toBe(true);
    expect(meta.get('tokenizer.ggml.add_eos_token')).toBe(false);
  });
});

describe('byte fallback, literal text, decoding', () => {
  const v = makeVocab(7, 50);
  const tok = GemmaTokenizer.fromPieces({ pieces: v.pieces, scores: v.scores, types: v.types });
  const byteId = (b: number): number => tok.pieceToId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!;

  it('unknown characters become their UTF-8 bytes', () => {
    expect(tok.encode('Ω')).toEqual([0xce, 0xa9].map(byteId));
    expect(tok.encode('🦄')).toEqual([0xf0, 0x9f, 0xa6, 0x84].map(byteId));
  });

  it('lone surrogates are encoded as U+FFFD (documented replacement)', () => {
    expect(tok.encode('\ud800')).toEqual([0xef, 0xbf, 0xbd].map(byteId));
    expect(tok.decode(tok.encode('a\udc00b'))).toBe('a\ufffdb');
  });

  it('allowSpecial: false keeps control text literal and never yields a special id', () => {
    const s = '<start_of_turn>user\n<bos>hi<b>';
    const special = tok.encode(s);
    expect(special).toContain(4);
    expect(special).toContain(2);
    const literal = tok.encode(s, { allowSpecial: false });
    expect(literal).not.toContain(4);
    expect(literal).not.toContain(2);
    expect(literal).toContain(6); // <b> is an ordinary user-defined piece
    expect(tok.decode(literal)).toBe(s);
    expect(tok.encode('hi', { addBos: true })).toEqual([2, ...tok.encode('hi')]);
  });

  it('decode skipSpecial drops control pieces', () => {
    expect(tok.decode([2, ...tok.encode('ab'), 1], { skipSpecial: true })).toBe('ab');
    expect(tok.decode([2, 1])).toBe('<bos><eos>');
  });

  it('the stream decoder holds partial characters and never drops bytes', () => {
    const d = tok.createStreamDecoder();
    const ids = [0xf0, 0x9f, 0xa6, 0x84].map(byteId);
    expect(d.push(ids[0]!)).toBe('');
    expect(d.push(ids[1]!)).toBe('');
    expect(d.push(ids[2]!)).toBe('');
    expect(d.push(ids[3]!)).toBe('🦄');
    // an incomplete sequence cut by a text piece: U+FFFD, then the text
    expect(d.push(byteId(0xe6))).toBe('');
    expect(d.push(tok.pieceToId('a')!)).toBe('\ufffda');
    // an incomplete sequence at the end comes out on flush
    expect(d.push(byteId(0xe6))).toBe('');
    expect(d.flush()).toBe('\ufffd');
    expect(d.flush()).toBe('');
    // a stray continuation byte is replaced at once
    expect(d.push(byteId(0x80))).toBe('\ufffd');
  });

  it('missing byte pieces fall back to <unk>; with no <unk> encoding says so', () => {
    const pieces = ['<unk>', 'a', '<0x41>'];
    const t = GemmaTokenizer.fromPieces({ pieces, scores: [0, 0, 0], types: [2, 1, 6] });
    expect(t.encode('aAé')).toEqual([1, 2, 0]);
    const noUnk = GemmaTokenizer.fromPieces({ pieces: ['a'], scores: [0], types: [1] });
    expect(() => noUnk.encode('b')).toThrow(expect.objectContaining({ code: 'TOKENIZER' }));
  });

  it('ids outside the vocabulary are BAD_ARGUMENT', () => {
    expect(() => tok.decode([tok.vocabSize])).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => tok.decode([-1])).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => tok.createStreamDecoder().push(1.5)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(tok.idToPiece(tok.vocabSize)).toBeUndefined();
  });
});

describe('SentencePiece normalizer settings from tokenizer.model', () => {
  it('proto defaults (no normalizer_spec): dummy prefix and extra-whitespace removal', () => {
    const pieces = ['<unk>', '<s>', '</s>', '▁', 'a', 'b', '▁a', '▁b'];
    const types = [2, 3, 3, 1, 1, 1, 1, 1];
    const scores = [0, 0, 0, -1, -2, -3, -4, -5];
    const bytes = writeModelProto({ pieces, scores, types, unkId: 0, bosId: 1, eosId: 2, padId: -1, byteFallback: false,
      addDummyPrefix: true, removeExtraWhitespaces: true, omitNormalizerSpec: true });
    const t = GemmaTokenizer.fromSentencePieceModel(bytes);
    expect(t.encode('  a   b ')).toEqual([6, 7]);
    expect(t.decode([6, 7])).toBe('a b');
    expect(t.padId).toBe(-1);
    expect(t.bosId).toBe(1);
  });
});
