/**
 * BPE over one text segment, the way SentencePiece's bpe_model.cc and HF's BPE do it:
 * start from one symbol per code point, keep every adjacent pair that forms a known
 * piece in a priority queue, and repeatedly merge the cheapest pair (ties: leftmost).
 *
 *   cost(pair) = rank of the merge        (tokenizer.json: HF merges list order)
 *              = -score(merged piece)     (tokenizer.model / GGUF: SentencePiece scores)
 *
 * Symbols that are not in the vocabulary never merge; at the end they fall back to their
 * UTF-8 bytes as <0xNN> pieces, or to <unk> when a byte piece is missing.
 * O(n log n) in the segment length; all scratch memory is reused between calls.
 */
import { GemmaError } from '../errors.js';
import { PairTable } from './pair-table.js';
import type { PieceIndex } from './piece-index.js';

const DEAD = -2;

export interface BpeVocab {
  /** id → piece */
  readonly pieces: readonly string[];
  readonly pieceToId: PieceIndex;
  /** per id: nonzero when a merge may produce it (score mode) */
  readonly mergeable: Uint8Array;
  /** per id: nonzero for control-like pieces, never produced when encoding literally */
  readonly special: Uint8Array;
  readonly scores: Float32Array;
  /** code point → id for single-code-point pieces (BMP table + astral map) */
  readonly bmpCharId: Int32Array;
  readonly astralCharId: ReadonlyMap<number, number>;
  /** byte value → id of <0xNN>, or -1 */
  readonly byteId: Int32Array;
  readonly byteFallback: boolean;
  readonly unkId: number;
}

export class BpeEncoder {
  /** ranked: a fixed merges table; scored: looked up from piece scores and cached in `table` */
  private readonly ranked: boolean;
  private readonly table: PairTable;

  // symbols (one per code point of the segment)
  private ids = new Int32Array(256);
  private prev = new Int32Array(256);
  private next = new Int32Array(256);
  private cpos = new Int32Array(256);
  // candidate pairs ("records": cost, left/right symbol, their ids, the merged id) and a heap of record indices
  private rCost = new Float64Array(512);
  private rLeft = new Int32Array(512);
  private rRight = new Int32Array(512);
  private rLid = new Int32Array(512);
  private rRid = new Int32Array(512);
  private rMerged = new Int32Array(512);
  private heap = new Int32Array(512);
  private heapSize = 0;
  private nRecords = 0;

  constructor(private readonly v: BpeVocab, ranked: PairTable | undefined) {
    this.ranked = ranked !== undefined;
    this.table = ranked ?? new PairTable(1 << 12, 1 << 20); // score mode: a cache of looked-up pairs, 16 MiB at most
  }

  /** Appends the ids of `text[start, end)` to `out`. `literal` forbids producing special ids. */
  encode(text: string, start: number, end: number, out: number[], literal: boolean): void {
    const v = this.v;
    this.ensureSymbols(end - start);
    const ids = this.ids, cpos = this.cpos;
    let n = 0;
    for (let i = start; i < end; i++) {
      let cp = text.charCodeAt(i);
      cpos[n] = i;
      if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < end) {
        const lo = text.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo < 0xe000) { cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00); i++; }
      }
      let id = cp < 0x10000 ? v.bmpCharId[cp]! : (v.astralCharId.get(cp) ?? -1);
      if (literal && id >= 0 && v.special[id]) id = -1;
      ids[n++] = id;
    }
    if (n === 0) return;
    if (n > 1) this.mergeAll(n, literal);
    this.emit(text, n, out);
  }

  private mergeAll(n: number, literal: boolean): void {
    const ids = this.ids, prev = this.prev, next = this.next;
    for (let k = 0; k < n; k++) { prev[k] = k - 1; next[k] = k + 1; }
    next[n - 1] = -1;
    this.heapSize = 0;
    this.nRecords = 0;
    for (let k = 0; k + 1 < n; k++) this.addCandidate(k, k + 1, literal);
    while (this.heapSize > 0) {
      const rec = this.pop();
      const l = this.rLeft[rec]!, r = this.rRight[rec]!;
      if (ids[l] !== this.rLid[rec] || ids[r] !== this.rRid[rec] || next[l] !== r) continue; // stale
      ids[l] = this.rMerged[rec]!;
      ids[r] = DEAD;
      const nr = next[r]!;
      next[l] = nr;
      if (nr >= 0) prev[nr] = l;
      const pl = prev[l]!;
      if (pl >= 0) this.addCandidate(pl, l, literal);
      if (nr >= 0) this.addCandidate(l, nr, literal);
    }
  }

  /** Push (l, r) when the two symbols form a mergeable piece. */
  private addCandidate(l: number, r: number, literal: boolean): void {
    const a = this.ids[l]!, b = this.ids[r]!;
    if (a < 0 || b < 0) return;
    let slot = this.table.find(a, b);
    if (slot < 0) {
      if (this.ranked) return;
      slot = this.lookupScored(a, b);
    }
    const merged = this.table.mergedAt(slot);
    if (merged < 0) return;
    if (literal && this.v.special[merged]) return;
    const rec = this.newRecord();
    this.rCost[rec] = this.table.costAt(slot);
    this.rLeft[rec] = l; this.rRight[rec] = r;
    this.rLid[rec] = a; this.rRid[rec] = b;
    this.rMerged[rec] = merged;
    this.push(rec);
  }

  /** Score mode: is pieces[a] + pieces[b] a piece a merge may produce? Cache the answer. */
  private lookupScored(a: number, b: number): number {
    const v = this.v;
    const id = v.pieceToId.getConcat(v.pieces[a]!, v.pieces[b]!);
    const ok = id >= 0 && v.mergeable[id] !== 0;
    if (this.table.full) this.table.clear();
    this.table.insert(a, b, ok ? id : -1, ok ? -v.scores[id]! : 0);
    return this.table.find(a, b);
  }

  private emit(text: string, n: number, out: number[]): void {
    const ids = this.ids, next = this.next;
    // symbol 0 always survives (merges keep the left index); follow the links from it
    for (let k = 0; k >= 0; k = n > 1 ? next[k]! : -1) {
      const id = ids[k]!;
      if (id >= 0) out.push(id);
      else this.fallback(text.codePointAt(this.cpos[k]!)!, out);
    }
  }

  /** An unknown code point: its UTF-8 bytes as byte pieces, else <unk>. */
  private fallback(cp: number, out: number[]): void {
    const v = this.v;
    if (v.byteFallback) {
      const bytes = utf8Bytes(cp);
      let all = true;
      for (const b of bytes) if (v.byteId[b]! < 0) { all = false; break; }
      if (all) { for (const b of bytes) out.push(v.byteId[b]!); return; }
    }
    if (v.unkId < 0) {
      throw new GemmaError('TOKENIZER', `cannot encode U+${cp.toString(16).toUpperCase().padStart(4, '0')}: no piece, no byte pieces and no <unk>`);
    }
    out.push(v.unkId);
  }

  // ---- scratch management and a binary min-heap on (cost, left position) ----

  private ensureSymbols(n: number): void {
    if (this.ids.length >= n) return;
    let cap = this.ids.length;
    while (cap < n) cap *= 2;
    this.ids = new Int32Array(cap); this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap); this.cpos = new Int32Array(cap);
  }

  private newRecord(): number {
    const rec = this.nRecords++;
    if (rec >= this.rCost.length) {
      const cap = this.rCost.length * 2;
      this.rCost = grow64(this.rCost, cap);
      this.rLeft = grow32(this.rLeft, cap); this.rRight = grow32(this.rRight, cap);
      this.rLid = grow32(this.rLid, cap); this.rRid = grow32(this.rRid, cap);
      this.rMerged = grow32(this.rMerged, cap);
      this.heap = grow32(this.heap, cap);
    }
    return rec;
  }

  /** a before b: lower cost, then leftmost */
  private before(a: number, b: number): boolean {
    const ca = this.rCost[a]!, cb = this.rCost[b]!;
    return ca < cb || (ca === cb && this.rLeft[a]! < this.rLeft[b]!);
  }

  private push(rec: number): void {
    const h = this.heap;
    let i = this.heapSize++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(rec, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = rec;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h[--this.heapSize]!;
    const size = this.heapSize;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && this.before(h[c + 1]!, h[c]!)) c++;
      if (!this.before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

function grow32(a: Int32Array, cap: number): Int32Array<ArrayBuffer> { const b = new Int32Array(cap); b.set(a); return b; }
function grow64(a: Float64Array, cap: number): Float64Array<ArrayBuffer> { const b = new Float64Array(cap); b.set(a); return b; }

/** UTF-8 bytes of one code point (lone surrogates are replaced before encoding starts). */
export function utf8Bytes(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 63)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
}
