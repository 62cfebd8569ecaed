/**
 * PairTable: (left id, right id) → (merged id, cost), open addressing in typed arrays.
 * One table holds either the ranked merges of a tokenizer.json (cost = rank) or, for
 * score-ranked SentencePiece vocabularies, pairs looked up lazily while encoding
 * (cost = -score of the merged piece; merged = -1 records "no such piece").
 * Lower cost merges first.
 */
import { GemmaError } from '../errors.js';

const EMPTY = -1;
/** Largest table we grow to (entries); past it a lazily filled table is cleared. */
const MAX_CAPACITY = 1 << 23;

export class PairTable {
  private left: Int32Array;
  private right: Int32Array;
  private merged: Int32Array;
  private cost: Float32Array;
  private mask: number;
  size = 0;

  constructor(expected = 1024) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    if (cap > MAX_CAPACITY * 2) throw new GemmaError('LIMIT', `too many merges (${expected})`);
    this.left = new Int32Array(cap).fill(EMPTY);
    this.right = new Int32Array(cap);
    this.merged = new Int32Array(cap);
    this.cost = new Float32Array(cap);
    this.mask = cap - 1;
  }

  get capacity(): number { return this.mask + 1; }

  /** Slot holding (l, r), or -1. */
  find(l: number, r: number): number {
    const left = this.left;
    let i = hashPair(l, r) & this.mask;
    for (;;) {
      const k = left[i]!;
      if (k === EMPTY) return -1;
      if (k === l && this.right[i] === r) return i;
      i = (i + 1) & this.mask;
    }
  }

  mergedAt(slot: number): number { return this.merged[slot]!; }
  costAt(slot: number): number { return this.cost[slot]!; }

  /** Insert (l, r) unless present; returns false when it was already there (first insert wins). */
  insert(l: number, r: number, merged: number, cost: number): boolean {
    if ((this.size + 1) * 2 > this.capacity) this.grow();
    const left = this.left;
    let i = hashPair(l, r) & this.mask;
    for (;;) {
      const k = left[i]!;
      if (k === EMPTY) break;
      if (k === l && this.right[i] === r) return false;
      i = (i + 1) & this.mask;
    }
    left[i] = l; this.right[i] = r; this.merged[i] = merged; this.cost[i] = cost;
    this.size++;
    return true;
  }

  /** Every stored pair, for writing merges back out. */
  forEach(fn: (l: number, r: number, merged: number, cost: number) => void): void {
    for (let i = 0; i <= this.mask; i++) {
      if (this.left[i] !== EMPTY) fn(this.left[i]!, this.right[i]!, this.merged[i]!, this.cost[i]!);
    }
  }

  clear(): void { this.left.fill(EMPTY); this.size = 0; }

  /** Whether a cache-like table may take more entries without passing MAX_CAPACITY. */
  get full(): boolean { return this.capacity >= MAX_CAPACITY && (this.size + 1) * 2 > this.capacity; }

  private grow(): void {
    const cap = this.capacity * 2;
    if (cap > MAX_CAPACITY) throw new GemmaError('LIMIT', `pair table over ${MAX_CAPACITY} slots`);
    const { left, right, merged, cost } = this;
    this.left = new Int32Array(cap).fill(EMPTY);
    this.right = new Int32Array(cap);
    this.merged = new Int32Array(cap);
    this.cost = new Float32Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < left.length; i++) if (left[i] !== EMPTY) this.insert(left[i]!, right[i]!, merged[i]!, cost[i]!);
  }
}

/** 32-bit mix of two ids (multiply-xorshift, as in murmur's finaliser). */
function hashPair(l: number, r: number): number {
  let h = Math.imul(l, 0x9e3779b1) ^ r;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
