/**
 * tokenizer.json (HF tokenizers, model type BPE with byte fallback, as Gemma ships it)
 * → the pieces, the ranked merges and the added tokens.
 *
 * Bytes are scanned directly (json-scan.ts): vocab keys are decoded once into the piece
 * strings, and each merge's two halves and their concatenation are found by hashing the
 * raw JSON bytes against the vocab keys' raw bytes (JSON escaping is per character, so
 * raw(a + b) = raw(a) + raw(b)), with a decode-and-Map fallback if escaping differs.
 */
import { GemmaError } from '../errors.js';
import { JsonScanner } from './json-scan.js';
import { MAX_VOCAB } from './pieces.js';

export interface HfAddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
}

export interface HfTokenizerData {
  /** id → piece (vocab and added tokens) */
  pieces: string[];
  /** merges in rank order, as ids: left[k] + right[k] → merged[k] */
  mergeLeft: Int32Array;
  mergeRight: Int32Array;
  mergeResult: Int32Array;
  mergeCount: number;
  added: HfAddedToken[];
  unkToken: string | null;
  byteFallback: boolean;
  ignoreMerges: boolean;
  normalizer: unknown;
  preTokenizer: unknown;
}

const FILE = 'tokenizer.json';

function bad(msg: string, field?: string): never {
  throw new GemmaError('TOKENIZER', msg, { file: FILE, field });
}

// ---------------------------------------------------------------------------
// bytes

export function parseTokenizerJsonBytes(bytes: Uint8Array): HfTokenizerData {
  const s = new JsonScanner(bytes, FILE);
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) s.pos = 3;
  let added: unknown = [];
  let normalizer: unknown = null, preTokenizer: unknown = null;
  let model: ModelFields | undefined;
  if (s.openObject()) {
    do {
      const k = s.key();
      if (k === 'added_tokens') added = s.value();
      else if (k === 'normalizer') normalizer = s.value();
      else if (k === 'pre_tokenizer') preTokenizer = s.value();
      else if (k === 'model') model = scanModel(s);
      else s.skip();
    } while (s.more(0x7d));
  }
  if (!s.atEnd()) s.fail('trailing data');
  if (!model) bad('no "model" section', 'model');
  return finish(model, added, normalizer, preTokenizer);
}

interface ModelFields {
  type: unknown;
  unkToken: unknown;
  byteFallback: unknown;
  ignoreMerges: unknown;
  vocab?: string[];
  vocabIdByPiece?: Map<string, number>;
  merges?: { left: Int32Array; right: Int32Array; result: Int32Array; count: number };
}

function scanModel(s: JsonScanner): ModelFields {
  const m: ModelFields = { type: undefined, unkToken: null, byteFallback: false, ignoreMerges: false };
  let vocab: VocabIndex | undefined;
  let mergesAt = -1;
  if (s.openObject()) {
    do {
      const k = s.key();
      if (k === 'type') m.type = s.value();
      else if (k === 'unk_token') m.unkToken = s.value();
      else if (k === 'byte_fallback') m.byteFallback = s.value();
      else if (k === 'ignore_merges') m.ignoreMerges = s.value();
      else if (k === 'vocab') vocab = scanVocab(s);
      else if (k === 'merges') {
        if (vocab) m.merges = scanMerges(s, vocab);
        else { s.ws(); mergesAt = s.pos; s.skip(); }
      } else s.skip();
    } while (s.more(0x7d));
  }
  if (!vocab) bad('model has no vocab', 'model.vocab');
  if (mergesAt >= 0) {
    const end = s.pos;
    s.pos = mergesAt;
    m.merges = scanMerges(s, vocab);
    s.pos = end;
  }
  m.vocab = vocab.pieces;
  m.vocabIdByPiece = vocab.map;
  return m;
}

/** Vocab keys: decoded pieces plus a hash of their raw bytes for merge lookups. */
interface VocabIndex {
  pieces: string[];
  rawStart: Int32Array;
  rawEnd: Int32Array;
  /** slot i: [2i] id + 1 (0 when free), [2i+1] the key's 32-bit hash */
  table: Int32Array;
  /** id → [2 id] raw start, [2 id + 1] raw end, interleaved for the byte comparison */
  span: Int32Array;
  mask: number;
  bytes: Uint8Array;
  /** built only if a merge needs the slow path */
  map?: Map<string, number>;
}

function scanVocab(s: JsonScanner): VocabIndex {
  let starts = new Int32Array(1 << 16), ends = new Int32Array(1 << 16), ids = new Int32Array(1 << 16);
  let n = 0, maxId = -1;
  if (s.openObject()) {
    do {
      const st = s.stringSpan();
      const en = s.pos - 1;
      s.expect(0x3a);
      const id = s.uint();
      if (id >= MAX_VOCAB) throw new GemmaError('LIMIT', `vocab id ${id} over ${MAX_VOCAB}`, { file: FILE, field: 'model.vocab' });
      if (n === starts.length) {
        starts = grow(starts); ends = grow(ends); ids = grow(ids);
      }
      starts[n] = st; ends[n] = en; ids[n] = id; n++;
      if (id > maxId) maxId = id;
    } while (s.more(0x7d));
  }
  if (n > MAX_VOCAB) throw new GemmaError('LIMIT', `vocab over ${MAX_VOCAB} pieces`, { file: FILE });
  // ids end up contiguous, gaps filled by added tokens of > 16 bytes of JSON each: a larger id
  // is a claim the file cannot back, and would size the arrays below (~24 bytes per id)
  if (maxId >= n + (s.b.length >>> 4)) bad(`vocab id ${maxId} with ${n} pieces leaves gaps the file cannot fill (ids must be contiguous)`, 'model.vocab');
  const pieces: string[] = new Array(maxId + 1);
  const rawStart = new Int32Array(maxId + 1).fill(-1), rawEnd = new Int32Array(maxId + 1);
  for (let k = 0; k < n; k++) {
    const id = ids[k]!;
    if (rawStart[id] !== -1) {
      throw new GemmaError('DUPLICATE', `vocab id ${id} given to two pieces`, { file: FILE, field: 'model.vocab' });
    }
    rawStart[id] = starts[k]!; rawEnd[id] = ends[k]!;
    pieces[id] = s.decodeSpan(starts[k]!, ends[k]!);
  }
  let cap = 1024;
  while (cap < n * 2) cap *= 2;
  const table = new Int32Array(cap * 2);
  const span = new Int32Array((maxId + 1) * 2);
  const mask = cap - 1;
  const b = s.b;
  for (let id = 0; id <= maxId; id++) {
    const st = rawStart[id]!;
    if (st < 0) continue;
    const en = rawEnd[id]!;
    span[2 * id] = st; span[2 * id + 1] = en;
    const h = polyHash(b, st, en);
    let i = mix(h) & mask;
    for (;;) {
      const other = table[2 * i]! - 1;
      if (other < 0) { table[2 * i] = id + 1; table[2 * i + 1] = h; break; }
      if (table[2 * i + 1] === h && sameBytes(b, st, en, rawStart[other]!, rawEnd[other]!)) {
        throw new GemmaError('DUPLICATE', `vocab piece ${JSON.stringify(pieces[id])} appears twice (ids ${other}, ${id})`, { file: FILE, field: 'model.vocab' });
      }
      i = (i + 1) & mask;
    }
  }
  return { pieces, rawStart, rawEnd, table, span, mask, bytes: b };
}

/**
 * Polynomial hash of raw bytes, h = h·P + byte (mod 2^32), so that
 * H(a ++ b) = H(a)·P^|b| + H(b): a merge's two halves are hashed once and their
 * concatenation's hash follows without another pass.
 */
const P = 0x01000193;
function polyHash(b: Uint8Array, st: number, en: number): number {
  let h = 0;
  for (let p = st; p < en; p++) h = (Math.imul(h, P) + b[p]!) | 0;
  return h;
}
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}
function sameBytes(b: Uint8Array, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let k = 0; k < e1 - s1; k++) if (b[s1 + k] !== b[s2 + k]) return false;
  return true;
}

/** id of the vocab key whose raw bytes are b[s1,e1) ++ b[s2,e2), whose polyHash is `h`; or -1. */
function findRaw(v: VocabIndex, h: number, s1: number, e1: number, s2: number, e2: number): number {
  const b = v.bytes, table = v.table, span = v.span;
  const len1 = e1 - s1, len = len1 + (e2 - s2);
  let i = mix(h) & v.mask;
  for (;;) {
    const id = table[2 * i]! - 1;
    if (id < 0) return -1;
    if (table[2 * i + 1] === h) {
      const st = span[2 * id]!, en = span[2 * id + 1]!;
      if (en - st === len && sameBytes(b, st, st + len1, s1, e1) && sameBytes(b, st + len1, en, s2, e2)) return id;
    }
    i = (i + 1) & v.mask;
  }
}

function vocabMap(v: VocabIndex): Map<string, number> {
  if (!v.map) {
    v.map = new Map();
    v.pieces.forEach((p, id) => { if (p !== undefined) v.map!.set(p, id); });
  }
  return v.map;
}

/**
 * The merges array, ["a", "b"] pairs or "a b" strings, in one tight pass: each string is
 * hashed while it is scanned, then its halves and their concatenation are looked up.
 */
function scanMerges(s: JsonScanner, v: VocabIndex): NonNullable<ModelFields['merges']> {
  let left = new Int32Array(1 << 16), right = new Int32Array(1 << 16), result = new Int32Array(1 << 16);
  let n = 0;
  const b = s.b;
  const end = b.length;
  // string scanner state: hash, P^length, escape seen; returns the index of the closing quote
  let h = 0, pw = 1, escaped = false;
  const scanString = (p: number): number => {
    h = 0; pw = 1; escaped = false;
    for (;;) {
      if (p >= end) { s.pos = p; s.fail('unterminated string'); }
      const c = b[p]!;
      if (c === 0x22) return p;
      if (c < 0x20) { s.pos = p; s.fail('control character in string'); }
      h = (Math.imul(h, P) + c) | 0; pw = Math.imul(pw, P);
      if (c === 0x5c) {
        escaped = true;
        if (++p >= end) break;
        h = (Math.imul(h, P) + b[p]!) | 0; pw = Math.imul(pw, P);
      }
      p++;
    }
    s.pos = p;
    return s.fail('unterminated string');
  };
  const skipWs = (p: number): number => {
    while (p < end) { const c = b[p]!; if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break; p++; }
    return p;
  };
  const expectAt = (p: number, c: number, what: string): number => {
    p = skipWs(p);
    if (b[p] !== c) { s.pos = p; s.fail(`expected ${what}`); }
    return p + 1;
  };

  let p = expectAt(s.pos, 0x5b, "'['");
  p = skipWs(p);
  if (b[p] === 0x5d) { s.pos = p + 1; return { left, right, result, count: 0 }; }
  for (;;) {
    let s1: number, e1: number, s2: number, e2: number, h1: number, h2: number, pw2: number, esc: boolean;
    p = skipWs(p);
    if (b[p] === 0x5b) {
      p = expectAt(p + 1, 0x22, 'a string');
      s1 = p; e1 = scanString(p); h1 = h; esc = escaped;
      p = expectAt(e1 + 1, 0x2c, "','");
      p = expectAt(p, 0x22, 'a string');
      s2 = p; e2 = scanString(p); h2 = h; pw2 = pw; esc ||= escaped;
      p = expectAt(e2 + 1, 0x5d, "']' (a merge has two pieces)");
    } else {
      p = expectAt(p, 0x22, 'a string');
      const st = p, en = scanString(p);
      esc = escaped;
      let sp = st;
      while (sp < en && b[sp] !== 0x20) sp++;
      if (sp >= en) { s.pos = st; s.fail('merge string without a space'); }
      s1 = st; e1 = sp; s2 = sp + 1; e2 = en;
      h1 = polyHash(b, s1, e1); h2 = polyHash(b, s2, e2);
      pw2 = 1;
      for (let k = s2; k < e2; k++) pw2 = Math.imul(pw2, P);
      p = en + 1;
    }
    let l = findRaw(v, h1, s1, e1, 0, 0);
    let r = findRaw(v, h2, s2, e2, 0, 0);
    let m = findRaw(v, (Math.imul(h1, pw2) + h2) | 0, s1, e1, s2, e2);
    if ((l < 0 || r < 0 || m < 0) && esc) {
      // escaping differs from the vocab keys': compare decoded text instead
      const map = vocabMap(v);
      const a = s.decodeSpan(s1, e1), c = s.decodeSpan(s2, e2);
      l = map.get(a) ?? -1; r = map.get(c) ?? -1; m = map.get(a + c) ?? -1;
    }
    if (l < 0 || r < 0) { s.pos = s1; bad(`merge #${n} uses a piece missing from the vocab`, 'model.merges'); }
    if (m < 0) { s.pos = s1; bad(`merge #${n} produces a piece missing from the vocab`, 'model.merges'); }
    if (n === left.length) { left = grow(left); right = grow(right); result = grow(result); }
    left[n] = l; right[n] = r; result[n] = m; n++;
    p = skipWs(p);
    if (b[p] === 0x2c) { p++; continue; }
    if (b[p] === 0x5d) { s.pos = p + 1; break; }
    s.pos = p;
    s.fail("expected ',' or ']'");
  }
  return { left, right, result, count: n };
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  if (a.length * 2 > MAX_VOCAB * 8) throw new GemmaError('LIMIT', 'too many entries', { file: FILE });
  const b = new Int32Array(a.length * 2); b.set(a); return b;
}

// ---------------------------------------------------------------------------
// already-parsed object

export function parseTokenizerJsonObject(json: unknown): HfTokenizerData {
  if (!isObj(json)) bad('tokenizer.json is not an object');
  const model = json['model'];
  if (!isObj(model)) bad('no "model" section', 'model');
  const vocab = model['vocab'];
  if (!isObj(vocab)) bad('model.vocab is not an object', 'model.vocab');
  const entries = Object.entries(vocab);
  if (entries.length > MAX_VOCAB) throw new GemmaError('LIMIT', `vocab over ${MAX_VOCAB} pieces`, { file: FILE });
  let maxId = -1;
  for (const [, id] of entries) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= MAX_VOCAB) bad(`bad vocab id ${String(id)}`, 'model.vocab');
    if ((id as number) > maxId) maxId = id as number;
  }
  const pieces: string[] = new Array(maxId + 1);
  const map = new Map<string, number>();
  for (const [piece, id] of entries) {
    if (pieces[id as number] !== undefined) throw new GemmaError('DUPLICATE', `vocab id ${id} given to two pieces`, { file: FILE, field: 'model.vocab' });
    pieces[id as number] = piece;
    map.set(piece, id as number);
  }
  const rawMerges = model['merges'] ?? [];
  if (!Array.isArray(rawMerges)) bad('model.merges is not an array', 'model.merges');
  const n = rawMerges.length;
  const left = new Int32Array(n), right = new Int32Array(n), result = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const m = rawMerges[k];
    let a: unknown, c: unknown;
    if (typeof m === 'string') {
      const sp = m.indexOf(' ');
      if (sp < 0) bad(`merge #${k} without a space`, 'model.merges');
      a = m.slice(0, sp); c = m.slice(sp + 1);
    } else if (Array.isArray(m) && m.length === 2) { a = m[0]; c = m[1]; }
    else bad(`merge #${k} is neither "a b" nor ["a", "b"]`, 'model.merges');
    if (typeof a !== 'string' || typeof c !== 'string') bad(`merge #${k} is not two strings`, 'model.merges');
    const l = map.get(a), r = map.get(c), res = map.get(a + c);
    if (l === undefined || r === undefined) bad(`merge #${k} uses a piece missing from the vocab`, 'model.merges');
    if (res === undefined) bad(`merge #${k} produces a piece missing from the vocab`, 'model.merges');
    left[k] = l; right[k] = r; result[k] = res;
  }
  return finish(
    { type: model['type'], unkToken: model['unk_token'] ?? null, byteFallback: model['byte_fallback'] ?? false,
      ignoreMerges: model['ignore_merges'] ?? false, vocab: pieces, vocabIdByPiece: map,
      merges: { left, right, result, count: n } },
    json['added_tokens'] ?? [], json['normalizer'] ?? null, json['pre_tokenizer'] ?? null);
}

// ---------------------------------------------------------------------------

function finish(m: ModelFields, addedRaw: unknown, normalizer: unknown, preTokenizer: unknown): HfTokenizerData {
  if (m.type !== 'BPE') bad(`model type ${JSON.stringify(m.type)} is not supported (Gemma uses BPE)`, 'model.type');
  if (m.unkToken !== null && typeof m.unkToken !== 'string') bad('model.unk_token is not a string', 'model.unk_token');
  const pieces = m.vocab!;
  if (!Array.isArray(addedRaw)) bad('added_tokens is not an array', 'added_tokens');
  const added: HfAddedToken[] = [];
  for (const a of addedRaw) {
    if (!isObj(a) || !Number.isInteger(a['id']) || typeof a['content'] !== 'string') bad('malformed added token', 'added_tokens');
    const id = a['id'] as number;
    if (id < 0 || id >= MAX_VOCAB) throw new GemmaError('LIMIT', `added token id ${id} out of range`, { file: FILE, field: 'added_tokens' });
    const content = a['content'] as string;
    if (content.length === 0) bad('empty added token', 'added_tokens');
    if (pieces[id] !== undefined && pieces[id] !== content) {
      throw new GemmaError('DUPLICATE', `added token ${id} ${JSON.stringify(content)} differs from vocab piece ${JSON.stringify(pieces[id])}`, { file: FILE, field: 'added_tokens' });
    }
    pieces[id] = content;
    added.push({ id, content, special: a['special'] === true, normalized: a['normalized'] === true });
  }
  for (let id = 0; id < pieces.length; id++) {
    if (pieces[id] === undefined) bad(`no piece for id ${id} (ids must be contiguous)`, 'model.vocab');
  }
  const mg = m.merges ?? { left: new Int32Array(0), right: new Int32Array(0), result: new Int32Array(0), count: 0 };
  return {
    pieces, mergeLeft: mg.left, mergeRight: mg.right, mergeResult: mg.result, mergeCount: mg.count, added,
    unkToken: m.unkToken as string | null, byteFallback: m.byteFallback === true, ignoreMerges: m.ignoreMerges === true,
    normalizer, preTokenizer,
  };
}

export function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
