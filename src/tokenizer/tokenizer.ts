/**
 * GemmaTokenizer: SentencePiece-style BPE with byte fallback, as Gemma 1/2/3 use it.
 *
 *   text ─ lone surrogates → U+FFFD ─ ' ' → '▁' ─ split on whole tokens (added /
 *   user-defined / control text) ─ BPE each remaining segment (bpe.ts) ─ ids
 *
 * Two merge orders, picked by the source file:
 *   tokenizer.json          ranked merges (HF semantics: cheapest rank first)
 *   tokenizer.model / GGUF  piece scores (SentencePiece semantics: best score first)
 * Ties go to the leftmost pair in both. Loaders live beside this file; they all end in
 * `TokenizerSpec`.
 */
import { GemmaError } from '../errors.js';
import { BpeEncoder, type BpeVocab } from './bpe.js';
import { AtomicMatcher, type SpecialMode } from './matcher.js';
import { PairTable } from './pair-table.js';
import { PieceIndex } from './piece-index.js';
import { PieceType, SPACE_SYMBOL, MAX_VOCAB, MAX_PIECE_CHARS, bytePieceValue, toWellFormed } from './pieces.js';

export interface TokenizerSpec {
  name?: string;
  pieces: string[];
  scores: Float32Array;
  /** SentencePiece types (PieceType) */
  types: Uint8Array;
  /** per id: control-like (skipped by decode's skipSpecial, never produced from literal text) */
  special: Uint8Array;
  /** strings that are always one token (special ones only when allowed) */
  atomic: { text: string; id: number; special: boolean }[];
  /** match whole tokens on the text after ' ' → '▁' (SentencePiece) or before (HF) */
  atomicOnNormalized: boolean;
  /** HF: a segment that is, once normalized, exactly an added token becomes that token */
  wholeSegmentAtomic: boolean;
  /** HF merges; absent for score-ranked vocabularies */
  ranked?: PairTable;
  byteFallback: boolean;
  ignoreMerges: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  extraStopIds?: number[];
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  /** on a piece string given to two ids: 'error', or prefer the atomic (added) one, as HF does */
  duplicates: 'error' | 'prefer-atomic';
  source: 'tokenizer.json' | 'tokenizer.model' | 'gguf' | 'pieces';
}

export interface EncodeOptions {
  /**
   * recognise special-token text such as `<start_of_turn>` (default true); false treats it
   * literally; 'userDefined' matches user-defined pieces only, as SentencePiece's encode does
   */
  allowSpecial?: SpecialMode;
  /** prepend BOS (default false) */
  addBos?: boolean;
}

export interface StreamDecoder {
  /** text that became complete with this id (never half a UTF-8 character) */
  push(id: number): string;
  /** whatever is pending (an incomplete byte sequence becomes U+FFFD) */
  flush(): string;
}

/** What encodeIncremental keeps between calls. */
export interface IncrementalState {
  readonly ids: readonly number[];
  /** how many leading ids were taken from the previous state unchanged */
  readonly reused: number;
  readonly raw: string;
  readonly boundaries: readonly number[];
  readonly allowSpecial: SpecialMode;
  readonly addBos: boolean;
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

export class TokenizerCore {
  readonly name: string;
  readonly pieces: readonly string[];
  readonly scores: Float32Array;
  readonly types: Uint8Array;
  readonly special: Uint8Array;
  private readonly index: PieceIndex;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  private stops: readonly number[];
  readonly source: TokenizerSpec['source'];
  readonly byteFallback: boolean;
  readonly addDummyPrefix: boolean;
  protected readonly spec: TokenizerSpec;
  private readonly matcher: AtomicMatcher;
  private readonly maxAtomicLength: number;
  private readonly bpe: BpeEncoder;
  /** id → byte value for byte pieces, else -1 */
  private readonly byteValue: Int16Array;

  constructor(spec: TokenizerSpec) {
    const n = spec.pieces.length;
    if (n === 0) throw new GemmaError('TOKENIZER', 'empty vocabulary');
    if (n > MAX_VOCAB) throw new GemmaError('LIMIT', `vocabulary of ${n} pieces over ${MAX_VOCAB}`);
    if (spec.scores.length !== n || spec.types.length !== n || spec.special.length !== n) {
      throw new GemmaError('TOKENIZER', `vocabulary arrays disagree: ${n} pieces, ${spec.scores.length} scores, ${spec.types.length} types`);
    }
    this.spec = spec;
    this.name = spec.name ?? spec.source;
    this.pieces = spec.pieces;
    this.scores = spec.scores;
    this.types = spec.types;
    this.special = spec.special;
    this.source = spec.source;
    this.vocabSize = n;
    this.byteFallback = spec.byteFallback;
    this.addDummyPrefix = spec.addDummyPrefix;

    const atomicIds = new Set<number>();
    for (const a of spec.atomic) {
      if (!(a.id >= 0 && a.id < n)) throw new GemmaError('TOKENIZER', `special token id ${a.id} out of range`);
      atomicIds.add(a.id);
    }

    // piece → id (one index for the whole vocabulary), code point → id, byte → id
    for (let id = 0; id < n; id++) {
      const p = spec.pieces[id];
      if (typeof p !== 'string' || p.length === 0) throw new GemmaError('TOKENIZER', `piece ${id} is empty or missing`);
      if (p.length > MAX_PIECE_CHARS) throw new GemmaError('LIMIT', `piece ${id} is ${p.length} characters long`);
    }
    const index = new PieceIndex(spec.pieces, (prior, id) => {
      if (spec.duplicates === 'prefer-atomic' && (atomicIds.has(id) || atomicIds.has(prior))) return atomicIds.has(id) ? id : prior;
      throw new GemmaError('DUPLICATE', `piece ${JSON.stringify(spec.pieces[id])} appears twice (ids ${prior} and ${id})`, { field: 'vocab' });
    });
    const bmpCharId = new Int32Array(65536).fill(-1);
    const astralCharId = new Map<number, number>();
    const byteId = new Int32Array(256).fill(-1);
    const byteValue = new Int16Array(n).fill(-1);
    const mergeable = new Uint8Array(n);
    for (let id = 0; id < n; id++) {
      const p = spec.pieces[id]!;
      const t = spec.types[id]!;
      if (t < 1 || t > 6) throw new GemmaError('TOKENIZER', `piece ${id} has unknown type ${t}`);
      if (t === PieceType.BYTE) {
        const b = bytePieceValue(p);
        if (b < 0) throw new GemmaError('TOKENIZER', `byte piece ${id} is ${JSON.stringify(p)}, not <0xNN>`);
        if (byteId[b]! < 0) byteId[b] = id;
        byteValue[id] = b;
        continue;
      }
      if (t === PieceType.NORMAL || t === PieceType.USER_DEFINED || t === PieceType.UNUSED) mergeable[id] = 1;
      const cp = p.codePointAt(0)!;
      const oneCodePoint = p.length === (cp >= 0x10000 ? 2 : 1);
      if (oneCodePoint && t !== PieceType.CONTROL && t !== PieceType.UNKNOWN) {
        if (cp < 0x10000) { if (bmpCharId[cp]! < 0) bmpCharId[cp] = id; }
        else if (!astralCharId.has(cp)) astralCharId.set(cp, id);
      }
    }
    this.index = index;
    this.byteValue = byteValue;

    const checkId = (id: number, what: string): number => {
      if (!Number.isInteger(id) || id < -1 || id >= n) throw new GemmaError('TOKENIZER', `${what} id ${id} out of range`);
      return id;
    };
    this.unkId = checkId(spec.unkId, 'unk');
    this.bosId = checkId(spec.bosId, 'bos');
    this.eosId = checkId(spec.eosId, 'eos');
    this.padId = checkId(spec.padId, 'pad');
    const stops = new Set<number>();
    if (this.eosId >= 0) stops.add(this.eosId);
    const eot = index.get('<end_of_turn>');
    if (eot !== undefined) stops.add(eot);
    for (const id of spec.extraStopIds ?? []) if (id >= 0 && id < n) stops.add(id);
    this.stops = Object.freeze([...stops]);

    this.matcher = new AtomicMatcher(spec.atomic.map((a) => ({ ...a, userDefined: spec.types[a.id] === PieceType.USER_DEFINED })));
    this.maxAtomicLength = spec.atomic.reduce((m, a) => Math.max(m, a.text.length), 0);
    const vocab: BpeVocab = {
      pieces: spec.pieces, pieceToId: index, mergeable, special: spec.special, scores: spec.scores,
      bmpCharId, astralCharId, byteId, byteFallback: spec.byteFallback, unkId: this.unkId,
    };
    this.bpe = new BpeEncoder(vocab, spec.ranked);
  }

  // ---- encode ----

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new GemmaError('BAD_ARGUMENT', 'encode expects a string');
    const out: number[] = [];
    if (opts.addBos) out.push(this.requireBos());
    this.encodeInto(this.prepare(text), 0, opts.allowSpecial ?? true, out, null);
    return out;
  }

  private requireBos(): number {
    if (this.bosId < 0) throw new GemmaError('TOKENIZER', 'this vocabulary has no BOS token');
    return this.bosId;
  }

  /** Input clean-up before matching: lone surrogates, extra whitespace, dummy prefix. */
  private prepare(text: string): string {
    const spec = this.spec;
    let raw = toWellFormed(text);
    if (spec.removeExtraWhitespaces) raw = raw.replace(/ {2,}/g, ' ').replace(/^ | $/g, '');
    if (spec.addDummyPrefix && raw.length > 0) raw = ' ' + raw;
    return raw;
  }

  /**
   * Encode prepared text from offset `from` (a point right after a whole token, or 0).
   * `boundaries`, when given, receives (reach, offset after a whole token, ids so far) triples:
   * the ids up to that token depend on no character at or past `reach`.
   */
  private encodeInto(raw: string, from: number, allowSpecial: SpecialMode, out: number[], boundaries: number[] | null, reach0 = 0): void {
    const spec = this.spec;
    const norm = spec.escapeWhitespaces ? raw.replaceAll(' ', SPACE_SYMBOL) : raw;
    const matchOn = spec.atomicOnNormalized ? norm : raw;
    const matcher = this.matcher;
    let segStart = from;
    let reach = Math.max(from, reach0);
    for (let i = from; i < matchOn.length;) {
      const len = matcher.count > 0 ? matcher.matchAt(matchOn, i, allowSpecial) : 0;
      if (matcher.scanEnd > reach) reach = matcher.scanEnd;
      if (len === 0) { i++; continue; }
      const id = matcher.lastId;
      this.segment(norm, segStart, i, out, allowSpecial);
      out.push(id);
      if (boundaries) boundaries.push(reach, i + len, out.length);
      i += len;
      segStart = i;
    }
    this.segment(norm, segStart, matchOn.length, out, allowSpecial);
  }

  /**
   * For prompt caching: encode `text` re-using the ids of `prev` (an earlier result of this
   * method) up to the last whole token that the edit cannot have touched.
   */
  encodeIncremental(text: string, prev: IncrementalState | undefined, opts: EncodeOptions = {}): IncrementalState {
    const allowSpecial = opts.allowSpecial ?? true;
    const addBos = opts.addBos ?? false;
    const raw = this.prepare(text);
    const out: number[] = [];
    const boundaries: number[] = [];
    let from = 0, reach = 0;
    if (prev && prev.allowSpecial === allowSpecial && prev.addBos === addBos && !this.spec.removeExtraWhitespaces) {
      const p = commonPrefix(prev.raw, raw);
      const b = prev.boundaries;
      let k = b.length - 3;
      while (k >= 0 && b[k]! > p) k -= 3;
      if (k >= 0) {
        for (let i = 0; i < b[k + 2]!; i++) out.push(prev.ids[i]!);
        for (let i = 0; i <= k + 2; i++) boundaries.push(b[i]!);
        from = b[k + 1]!;
        reach = b[k]!;
      }
    }
    const reused = out.length;
    if (reused === 0 && addBos) out.push(this.requireBos());
    this.encodeInto(raw, from, allowSpecial, out, boundaries, reach);
    return { ids: out, reused, raw, boundaries, allowSpecial, addBos };
  }

  private segment(norm: string, start: number, end: number, out: number[], allowSpecial: SpecialMode): void {
    if (end <= start) return;
    const spec = this.spec;
    if (spec.wholeSegmentAtomic && end - start <= this.maxAtomicLength) {
      const seg = norm.slice(start, end);
      if (this.matcher.isWhole(seg, allowSpecial)) { out.push(this.matcher.lastId); return; }
    }
    if (spec.ignoreMerges) {
      const id = this.index.get(norm.slice(start, end));
      if (id !== undefined && (allowSpecial === true || !this.special[id] || (allowSpecial === 'userDefined' && this.spec.types[id] === PieceType.USER_DEFINED))) { out.push(id); return; }
    }
    this.bpe.encode(norm, start, end, out, allowSpecial !== true);
  }

  // ---- decode ----

  private checkId(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new GemmaError('BAD_ARGUMENT', `token id ${String(id)} is not in the vocabulary (size ${this.vocabSize})`);
    }
    return id;
  }

  /** Text of a non-byte piece: '▁' → ' '. */
  private pieceText(id: number): string {
    const p = this.pieces[id]!;
    return p.indexOf(SPACE_SYMBOL) >= 0 ? p.replaceAll(SPACE_SYMBOL, ' ') : p;
  }

  decode(ids: ArrayLike<number>, opts: { skipSpecial?: boolean } = {}): string {
    const skip = opts.skipSpecial ?? false;
    const parts: string[] = [];
    let bytes = new Uint8Array(64);
    let nb = 0;
    const flushBytes = (): void => {
      if (nb > 0) { parts.push(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, nb))); nb = 0; }
    };
    for (let k = 0; k < ids.length; k++) {
      const id = this.checkId(Number(ids[k]));
      if (skip && this.special[id]) continue;
      const b = this.byteValue[id]!;
      if (b >= 0) {
        if (nb === bytes.length) { const g = new Uint8Array(nb * 2); g.set(bytes); bytes = g; }
        bytes[nb++] = b;
        continue;
      }
      flushBytes();
      parts.push(this.pieceText(id));
    }
    flushBytes();
    const s = parts.join('');
    return this.addDummyPrefix && s.startsWith(' ') ? s.slice(1) : s;
  }

  createStreamDecoder(opts: { skipSpecial?: boolean } = {}): StreamDecoder {
    const skip = opts.skipSpecial ?? false;
    let td = new TextDecoder('utf-8', { ignoreBOM: true });
    let pending = false;
    let started = !this.addDummyPrefix;
    const one = new Uint8Array(1);
    const lead = (s: string): string => {
      if (!started && s.length > 0) { started = true; if (s.startsWith(' ')) return s.slice(1); }
      return s;
    };
    return {
      push: (id: number): string => {
        this.checkId(id);
        if (skip && this.special[id]) return '';
        const b = this.byteValue[id]!;
        if (b >= 0) {
          one[0] = b;
          pending = true;
          return lead(td.decode(one, { stream: true }));
        }
        let out = '';
        if (pending) { out = td.decode(); pending = false; td = new TextDecoder('utf-8', { ignoreBOM: true }); }
        return lead(out + this.pieceText(id));
      },
      flush: (): string => {
        if (!pending) return '';
        pending = false;
        const out = td.decode();
        td = new TextDecoder('utf-8', { ignoreBOM: true });
        return lead(out);
      },
    };
  }

  /** ids at which generation stops: eos and <end_of_turn> when present (plus any added) */
  get stopIds(): readonly number[] { return this.stops; }

  /** Also stop on `id` (e.g. tokenizer_config.json's eos_token). */
  addStopId(id: number): void {
    this.checkId(id);
    if (!this.stops.includes(id)) this.stops = Object.freeze([...this.stops, id]);
  }

  idToPiece(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.pieces[id] : undefined;
  }

  pieceToId(piece: string): number | undefined {
    return typeof piece === 'string' ? this.index.get(piece) : undefined;
  }

  /** Whether this vocabulary merges by HF ranks (tokenizer.json) rather than by scores. */
  get rankedMerges(): PairTable | undefined { return this.spec.ranked; }
  get atomicTokens(): readonly { text: string; id: number; special: boolean }[] { return this.spec.atomic; }
}
