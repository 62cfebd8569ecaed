/**
 * Writing a loaded vocabulary back out: GGUF metadata entries (llama.cpp's keys) and an
 * HF tokenizer.json. For a tokenizer.json source the GGUF scores are derived from the
 * merge ranks (score = -rank of the best merge producing the piece), which gives the
 * same merge order under SentencePiece's score rule; for score-ranked sources the
 * tokenizer.json merges list every split of every piece, sorted by the piece's score.
 */
import { PieceType, SPACE_SYMBOL } from './pieces.js';
import type { TokenizerCore } from './tokenizer.js';

export function toGgufMetadata(t: TokenizerCore): Map<string, unknown> {
  const meta = new Map<string, unknown>();
  meta.set('tokenizer.ggml.model', 'llama');
  meta.set('tokenizer.ggml.tokens', [...t.pieces]);
  meta.set('tokenizer.ggml.scores', Float32Array.from(t.scores));
  meta.set('tokenizer.ggml.token_type', Int32Array.from(t.types));
  if (t.bosId >= 0) meta.set('tokenizer.ggml.bos_token_id', t.bosId);
  if (t.eosId >= 0) meta.set('tokenizer.ggml.eos_token_id', t.eosId);
  if (t.unkId >= 0) meta.set('tokenizer.ggml.unknown_token_id', t.unkId);
  if (t.padId >= 0) meta.set('tokenizer.ggml.padding_token_id', t.padId);
  const eot = t.pieceToId('<end_of_turn>');
  if (eot !== undefined) meta.set('tokenizer.ggml.eot_token_id', eot);
  meta.set('tokenizer.ggml.add_bos_token', true);
  meta.set('tokenizer.ggml.add_eos_token', false);
  meta.set('tokenizer.ggml.add_space_prefix', t.addDummyPrefix);
  return meta;
}

export function toTokenizerJson(t: TokenizerCore): string {
  const pieces = t.pieces;
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  for (let id = 0; id < pieces.length; id++) if (!(pieces[id]! in vocab)) vocab[pieces[id]!] = id;

  const added = t.atomicTokens.map((a) => ({
    id: a.id, content: a.text, single_word: false, lstrip: false, rstrip: false, normalized: false,
    special: t.types[a.id] === PieceType.CONTROL || t.types[a.id] === PieceType.UNKNOWN,
  })).sort((a, b) => a.id - b.id);

  const merges = t.rankedMerges ? rankedMergeList(t) : scoredMergeList(t);
  const replace = { type: 'Replace', pattern: { String: ' ' }, content: SPACE_SYMBOL };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: t.addDummyPrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPACE_SYMBOL }, replace] } : replace,
    pre_tokenizer: null,
    post_processor: t.bosId >= 0 ? {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: pieces[t.bosId], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: pieces[t.bosId], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: pieces[t.bosId], type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [pieces[t.bosId]!]: { id: pieces[t.bosId], ids: [t.bosId], tokens: [pieces[t.bosId]] } },
    } : null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE_SYMBOL }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
        ...(t.addDummyPrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: t.unkId >= 0 ? pieces[t.unkId] : null,
      continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: t.byteFallback,
      ignore_merges: false, vocab, merges,
    },
  };
  return JSON.stringify(json);
}

function rankedMergeList(t: TokenizerCore): [string, string][] {
  const rows: [number, number, number][] = [];
  t.rankedMerges!.forEach((l, r, _m, cost) => { rows.push([cost, l, r]); });
  rows.sort((a, b) => a[0] - b[0]);
  return rows.map(([, l, r]) => [t.pieces[l]!, t.pieces[r]!]);
}

/** Every (left, right) split of every mergeable piece, best piece score first, then piece id. */
function scoredMergeList(t: TokenizerCore): [string, string][] {
  const rows: { score: number; id: number; l: number; r: number }[] = [];
  for (let id = 0; id < t.vocabSize; id++) {
    const type = t.types[id];
    if (type !== PieceType.NORMAL && type !== PieceType.USER_DEFINED && type !== PieceType.UNUSED) continue;
    const p = t.pieces[id]!;
    for (let k = 1; k < p.length; k++) {
      const c = p.charCodeAt(k);
      if (c >= 0xdc00 && c < 0xe000) continue; // do not split a surrogate pair
      const l = t.pieceToId(p.slice(0, k)), r = t.pieceToId(p.slice(k));
      if (l !== undefined && r !== undefined) rows.push({ score: t.scores[id]!, id, l, r });
    }
  }
  rows.sort((a, b) => b.score - a.score || a.id - b.id || a.l - b.l);
  return rows.map((x) => [t.pieces[x.l]!, t.pieces[x.r]!]);
}
