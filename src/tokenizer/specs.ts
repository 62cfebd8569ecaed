/**
 * Loaders' last step: each source format → one TokenizerSpec.
 *   tokenizer.json  → ranked merges, HF added-token rules
 *   tokenizer.model → piece scores, SentencePiece user-defined/control rules
 *   GGUF metadata   → piece scores (llama.cpp's SPM reading of the same fields)
 *   bare pieces     → piece scores (synthetic vocabularies)
 */
import { GemmaError } from '../errors.js';
import type { HfTokenizerData } from './hf-json.js';
import { isObj } from './hf-json.js';
import { PairTable } from './pair-table.js';
import { GEMMA_MARKUP, PieceType, SPACE_SYMBOL, bytePieceValue, looksLikeControlText } from './pieces.js';
import type { SentencePieceModel } from './sentencepiece-model.js';
import { requireBpe } from './sentencepiece-model.js';
import type { TokenizerSpec } from './tokenizer.js';

// ---------------------------------------------------------------------------
// tokenizer.json

export function specFromHf(d: HfTokenizerData, name?: string): TokenizerSpec {
  const pieces = d.pieces;
  const n = pieces.length;
  const { addDummyPrefix, escapeWhitespaces } = readHfNormalizer(d.normalizer);
  checkHfPreTokenizer(d.preTokenizer, escapeWhitespaces);

  const types = new Uint8Array(n).fill(PieceType.NORMAL);
  const special = new Uint8Array(n);
  const atomic: TokenizerSpec['atomic'] = [];
  const addedIds = new Set<number>();
  for (const a of d.added) {
    const isSpecial = a.special || looksLikeControlText(a.content);
    types[a.id] = a.special ? PieceType.CONTROL : PieceType.USER_DEFINED;
    special[a.id] = isSpecial ? 1 : 0;
    atomic.push({ text: a.content, id: a.id, special: isSpecial });
    addedIds.add(a.id);
  }
  for (let id = 0; id < n; id++) {
    if (addedIds.has(id)) continue;
    const p = pieces[id]!;
    if (d.byteFallback && bytePieceValue(p) >= 0) types[id] = PieceType.BYTE;
    else if (looksLikeControlText(p)) {
      special[id] = 1;
      types[id] = PieceType.CONTROL;
      // Gemma 1's tokenizer.json has the turn markers as plain pieces: still match them whole
      if ((GEMMA_MARKUP as readonly string[]).includes(p)) atomic.push({ text: p, id, special: true });
    }
  }
  const unkId = d.unkToken === null ? -1 : indexOf(pieces, d.unkToken);
  if (d.unkToken !== null && unkId < 0) throw new GemmaError('TOKENIZER', `unk_token ${JSON.stringify(d.unkToken)} is not in the vocab`, { file: 'tokenizer.json', field: 'model.unk_token' });
  if (unkId >= 0 && !addedIds.has(unkId)) { types[unkId] = PieceType.UNKNOWN; special[unkId] = 1; }
  else if (unkId >= 0) types[unkId] = PieceType.UNKNOWN;

  // ranked merges; derived SentencePiece-like scores: -(best rank producing the piece)
  const ranked = new PairTable(d.mergeCount);
  const scores = new Float32Array(n);
  const seen = new Uint8Array(n);
  if (d.mergeCount >= 1 << 24) throw new GemmaError('LIMIT', `${d.mergeCount} merges is over 2^24`, { file: 'tokenizer.json' });
  for (let k = 0; k < d.mergeCount; k++) {
    const m = d.mergeResult[k]!;
    ranked.insert(d.mergeLeft[k]!, d.mergeRight[k]!, m, k);
    if (!seen[m]) { seen[m] = 1; scores[m] = -k; }
  }
  return {
    name, pieces, scores, types, special, atomic, atomicOnNormalized: false, wholeSegmentAtomic: true, ranked,
    byteFallback: d.byteFallback, ignoreMerges: d.ignoreMerges, unkId,
    bosId: firstOf(pieces, ['<bos>', '<s>']), eosId: firstOf(pieces, ['<eos>', '</s>']), padId: firstOf(pieces, ['<pad>']),
    addDummyPrefix, removeExtraWhitespaces: false, escapeWhitespaces, duplicates: 'prefer-atomic', source: 'tokenizer.json',
  };
}

function isReplaceSpace(x: unknown): boolean {
  return isObj(x) && x['type'] === 'Replace' && isObj(x['pattern']) && x['pattern']['String'] === ' ' && x['content'] === SPACE_SYMBOL;
}
function isPrependSpace(x: unknown): boolean {
  return isObj(x) && x['type'] === 'Prepend' && x['prepend'] === SPACE_SYMBOL;
}

function readHfNormalizer(n: unknown): { addDummyPrefix: boolean; escapeWhitespaces: boolean } {
  if (n === null || n === undefined) return { addDummyPrefix: false, escapeWhitespaces: false };
  if (isReplaceSpace(n)) return { addDummyPrefix: false, escapeWhitespaces: true };
  if (isObj(n) && n['type'] === 'Sequence' && Array.isArray(n['normalizers'])) {
    const seq = n['normalizers'];
    if (seq.length === 1 && isReplaceSpace(seq[0])) return { addDummyPrefix: false, escapeWhitespaces: true };
    if (seq.length === 2 && isPrependSpace(seq[0]) && isReplaceSpace(seq[1])) return { addDummyPrefix: true, escapeWhitespaces: true };
  }
  throw new GemmaError('TOKENIZER', `normalizer ${JSON.stringify(n).slice(0, 200)} is not supported (Gemma replaces ' ' by '▁' only)`, { file: 'tokenizer.json', field: 'normalizer' });
}

function checkHfPreTokenizer(p: unknown, spacesEscaped: boolean): void {
  if (p === null || p === undefined) return;
  // Gemma 3: Split on " " — after the normalizer turned every ' ' into '▁' it never matches
  if (spacesEscaped && isObj(p) && p['type'] === 'Split' && isObj(p['pattern']) && p['pattern']['String'] === ' ') return;
  throw new GemmaError('TOKENIZER', `pre_tokenizer ${JSON.stringify(p).slice(0, 200)} is not supported`, { file: 'tokenizer.json', field: 'pre_tokenizer' });
}

// ---------------------------------------------------------------------------
// score-ranked sources

interface ScoredInput {
  name?: string;
  pieces: string[];
  scores: Float32Array;
  types: Uint8Array;
  unkId: number; bosId: number; eosId: number; padId: number;
  byteFallback: boolean;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  extraStopIds?: number[];
  source: TokenizerSpec['source'];
}

/**
 * SentencePiece rules: user-defined pieces are always whole tokens; control and unknown
 * pieces too, but only where special text is allowed (as HF and llama.cpp do; SentencePiece
 * itself never matches control text). Unused pieces are never matched.
 */
function scoredSpec(x: ScoredInput): TokenizerSpec {
  const n = x.pieces.length;
  if (x.scores.length !== n || x.types.length !== n) {
    throw new GemmaError('TOKENIZER', `${n} pieces but ${x.scores.length} scores and ${x.types.length} types`);
  }
  const special = new Uint8Array(n);
  const atomic: TokenizerSpec['atomic'] = [];
  for (let id = 0; id < n; id++) {
    const t = x.types[id]!;
    const p = x.pieces[id]!;
    if (typeof p !== 'string') throw new GemmaError('TOKENIZER', `piece ${id} is not a string`);
    const controlLike = t === PieceType.CONTROL || t === PieceType.UNKNOWN || t === PieceType.UNUSED || looksLikeControlText(p);
    special[id] = controlLike ? 1 : 0;
    if (t === PieceType.USER_DEFINED || t === PieceType.CONTROL || t === PieceType.UNKNOWN) atomic.push({ text: p, id, special: controlLike });
  }
  return {
    name: x.name, pieces: x.pieces, scores: x.scores, types: x.types, special, atomic,
    // matched on the text before ' ' → '▁', as HF tokenizers and llama.cpp do (SentencePiece
    // matches after, which only differs for user-defined pieces holding '▁': Gemma's space runs)
    atomicOnNormalized: false, wholeSegmentAtomic: false, byteFallback: x.byteFallback, ignoreMerges: false,
    unkId: x.unkId, bosId: x.bosId, eosId: x.eosId, padId: x.padId, extraStopIds: x.extraStopIds,
    addDummyPrefix: x.addDummyPrefix, removeExtraWhitespaces: x.removeExtraWhitespaces, escapeWhitespaces: x.escapeWhitespaces,
    duplicates: 'error', source: x.source,
  };
}

function idOrNone(id: number, n: number): number {
  return Number.isInteger(id) && id >= 0 && id < n ? id : -1;
}

export function specFromSentencePiece(m: SentencePieceModel, name?: string): TokenizerSpec {
  requireBpe(m);
  const n = m.pieces.length;
  for (const [what, id] of [['unk', m.unkId], ['bos', m.bosId], ['eos', m.eosId], ['pad', m.padId]] as const) {
    if (id >= n) throw new GemmaError('TOKENIZER', `${what}_id ${id} is past the ${n} pieces`, { file: 'tokenizer.model', field: `trainer_spec.${what}_id` });
  }
  return scoredSpec({
    name, pieces: m.pieces, scores: m.scores, types: m.types,
    unkId: idOrNone(m.unkId, n), bosId: idOrNone(m.bosId, n), eosId: idOrNone(m.eosId, n), padId: idOrNone(m.padId, n),
    byteFallback: m.byteFallback, addDummyPrefix: m.addDummyPrefix, removeExtraWhitespaces: m.removeExtraWhitespaces,
    escapeWhitespaces: m.escapeWhitespaces, source: 'tokenizer.model',
  });
}

export interface PiecesInput {
  pieces: string[];
  scores: ArrayLike<number>;
  types: ArrayLike<number>;
  bosId?: number; eosId?: number; padId?: number; unkId?: number;
}

export function specFromPieces(p: PiecesInput, name?: string): TokenizerSpec {
  if (!Array.isArray(p.pieces)) throw new GemmaError('BAD_ARGUMENT', 'pieces must be an array of strings');
  const n = p.pieces.length;
  const types = toTypes(p.types, n, 'types');
  const firstType = (t: number): number => { for (let i = 0; i < n; i++) if (types[i] === t) return i; return -1; };
  const given = (id: number | undefined, what: string, fallback: number): number => {
    if (id === undefined) return fallback;
    if (!Number.isInteger(id) || id < -1 || id >= n) throw new GemmaError('BAD_ARGUMENT', `${what} ${id} out of range`);
    return id;
  };
  return scoredSpec({
    name, pieces: p.pieces, scores: toScores(p.scores, n, 'scores'), types,
    unkId: given(p.unkId, 'unkId', firstType(PieceType.UNKNOWN)),
    bosId: given(p.bosId, 'bosId', firstOf(p.pieces, ['<bos>', '<s>'])),
    eosId: given(p.eosId, 'eosId', firstOf(p.pieces, ['<eos>', '</s>'])),
    padId: given(p.padId, 'padId', firstOf(p.pieces, ['<pad>'])),
    byteFallback: firstType(PieceType.BYTE) >= 0, addDummyPrefix: false, removeExtraWhitespaces: false,
    escapeWhitespaces: true, source: 'pieces',
  });
}

// ---------------------------------------------------------------------------
// GGUF metadata (llama.cpp keys)

export function specFromGguf(meta: Map<string, unknown>, name?: string): TokenizerSpec {
  const field = (k: string): GemmaError => new GemmaError('TOKENIZER', `GGUF metadata ${k} is missing or malformed`, { field: k });
  const model = meta.get('tokenizer.ggml.model');
  if (model !== 'llama') {
    throw new GemmaError('TOKENIZER', `GGUF tokenizer model ${JSON.stringify(model)} is not supported (Gemma uses "llama", SentencePiece BPE)`, { field: 'tokenizer.ggml.model' });
  }
  const tokens = meta.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) throw field('tokenizer.ggml.tokens');
  const n = tokens.length;
  const rawScores = meta.get('tokenizer.ggml.scores');
  if (!isArrayLike(rawScores)) throw field('tokenizer.ggml.scores');
  const rawTypes = meta.get('tokenizer.ggml.token_type');
  const types = rawTypes === undefined ? new Uint8Array(n).fill(PieceType.NORMAL) : isArrayLike(rawTypes) ? toTypes(rawTypes, n, 'tokenizer.ggml.token_type') : (() => { throw field('tokenizer.ggml.token_type'); })();
  const id = (k: string): number => {
    const v = meta.get(k);
    if (v === undefined) return -1;
    const num = typeof v === 'bigint' ? Number(v) : v;
    if (typeof num !== 'number' || !Number.isInteger(num)) throw field(k);
    if (num < 0 || num >= n) {
      // llama.cpp writes -1 (as uint32 0xFFFFFFFF) for "none"
      if (num === 0xffffffff || num === -1) return -1;
      throw new GemmaError('TOKENIZER', `${k} = ${num} is past the ${n} tokens`, { field: k });
    }
    return num;
  };
  const bool = (k: string, dflt: boolean): boolean => {
    const v = meta.get(k);
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw field(k);
    return v;
  };
  const types8 = types;
  let unkId = id('tokenizer.ggml.unknown_token_id');
  if (unkId < 0) for (let i = 0; i < n; i++) if (types8[i] === PieceType.UNKNOWN) { unkId = i; break; }
  const eot = id('tokenizer.ggml.eot_token_id');
  return scoredSpec({
    name, pieces: tokens as string[], scores: toScores(rawScores, n, 'tokenizer.ggml.scores'), types,
    unkId, bosId: id('tokenizer.ggml.bos_token_id'), eosId: id('tokenizer.ggml.eos_token_id'),
    padId: id('tokenizer.ggml.padding_token_id'),
    byteFallback: types8.includes(PieceType.BYTE),
    // llama.cpp's defaults for the "llama" tokenizer model
    addDummyPrefix: bool('tokenizer.ggml.add_space_prefix', true),
    removeExtraWhitespaces: bool('tokenizer.ggml.remove_extra_whitespaces', false),
    escapeWhitespaces: true, extraStopIds: eot >= 0 ? [eot] : [], source: 'gguf',
  });
}

// ---------------------------------------------------------------------------

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

function toTypes(a: ArrayLike<unknown>, n: number, what: string): Uint8Array {
  if (a.length !== n) throw new GemmaError('TOKENIZER', `${what} has ${a.length} entries for ${n} pieces`, { field: what });
  const t = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(a[i]);
    if (!Number.isInteger(v) || v < 1 || v > 6) throw new GemmaError('TOKENIZER', `${what}[${i}] = ${String(a[i])} is not a piece type 1..6`, { field: what });
    t[i] = v;
  }
  return t;
}

function toScores(a: ArrayLike<unknown>, n: number, what: string): Float32Array {
  if (a.length !== n) throw new GemmaError('TOKENIZER', `${what} has ${a.length} entries for ${n} pieces`, { field: what });
  if (a instanceof Float32Array) return a;
  const s = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(a[i]);
    if (!Number.isFinite(v)) throw new GemmaError('TOKENIZER', `${what}[${i}] is not a finite number`, { field: what });
    s[i] = v;
  }
  return s;
}

function indexOf(pieces: readonly string[], p: string): number {
  return pieces.indexOf(p);
}

function firstOf(pieces: readonly string[], names: string[]): number {
  // the Gemma names sit among the first pieces; a bounded scan keeps this cheap
  const limit = Math.min(pieces.length, 4096);
  for (const name of names) for (let i = 0; i < limit; i++) if (pieces[i] === name) return i;
  for (const name of names) { const i = pieces.indexOf(name); if (i >= 0) return i; }
  return -1;
}
