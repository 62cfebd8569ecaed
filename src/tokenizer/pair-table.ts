/**
 * PairTable: (left id, right id) → (merged id, cost), open addressing in typed arrays.
 * One table holds either the ranked merges of a tokenizer.json (cost = rank) or, for
 * score-ranked SentencePiece vocabularies, pairs looked up lazily while encoding
 * (cost = -score of the merged piece; merged = -1 records "no such piece").
 * Lower cost merges first.
 */
import { GemmaError } from '../errors.js';

/** Largest table we grow to (entries); past it a lazily filled table is cleared. */
const MAX_CAPACITY = 1 << 23;

export class PairTable {
  /** slot i: [4i] left id + 1 (0 when free), [4i+1] right id, [4i+2] merged id, [4i+3] cost (float32 bits) */
  private slots: Int32Array;
  private costs: Float32Array; // view of `slots`
  private mask: number;
  size = 0;

  /** `maxCapacity`: slots the table may grow to (a lazily filled cache is cleared there instead). */
  constructor(expected = 1024, private readonly maxCapacity = MAX_CAPACITY) {
    let cap = 1024;
    while (cap * 5 < expected * 8) cap *= 2; // load factor at most 5/8
    if (cap > maxCapacity) throw new GemmaError('LIMIT', `too many merges (${expected})`);
    this.slots = PairTable.alloc(cap);
    this.costs = new Float32Array(this.slots.buffer);
    this.mask = cap - 1;
  }

  private static alloc(cap: number): Int32Array {
    return new Int32Array(cap * 4); // zeroed: every slot free
  }

  get capacity(): number { return this.mask + 1; }

  /** Slot holding (l, r), or -1. */
  find(l: number, r: number): number {
    const s = this.slots;
    const key = l + 1;
    let i = hashPair(l, r) & this.mask;
    for (;;) {
      const k = s[i * 4]!;
      if (k === 0) return -1;
      if (k === key && s[i * 4 + 1] === r) return i;
      i = (i + 1) & this.mask;
    }
  }

  mergedAt(slot: number): number { return this.slots[slot * 4 + 2]!; }
  costAt(slot: number): number { return this.costs[slot * 4 + 3]!; }

  /** Insert (l, r) unless present; returns false when it was already there (first insert wins). */
  insert(l: number, r: number, merged: number, cost: number): boolean {
    if ((this.size + 1) * 8 > this.capacity * 5) this.grow();
    const s = this.slots;
    const key = l + 1;
    let i = hashPair(l, r) & this.mask;
    for (;;) {
      const k = s[i * 4]!;
      if (k === 0) break;
      if (k === key && s[i * 4 + 1] === r) return false;
      i = (i + 1) & this.mask;
    }
    s[i * 4] = key; s[i * 4 + 1] = r; s[i * 4 + 2] = merged; this.costs[i * 4 + 3] = cost;
    this.size++;
    return true;
  }

  /** Every stored pair, for writing merges back out. */
  forEach(fn: (l: number, r: number, merged: number, cost: number) => void): void {
    const s = this.slots;
    for (let i = 0; i <= this.mask; i++) {
      if (s[i * 4] !== 0) fn(s[i * 4]! - 1, s[i * 4 + 1]!, s[i * 4 + 2]!, this.costs[i * 4 + 3]!);
    }
  }

  clear(): void { this.slots.fill(0); this.size = 0; }

  /** Whether a cache-like table may take more entries without passing MAX_CAPACITY. */
  get full(): boolean { return this.capacity >= this.maxCapacity && (this.size + 1) * 8 > this.capacity * 5; }

  private grow(): void {
    const cap = this.capacity * 2;
    if (cap > this.maxCapacity) throw new GemmaError('LIMIT', `pair table over ${this.maxCapacity} slots`);
    const old = this.slots, oldCosts = this.costs;
    this.slots = PairTable.alloc(cap);
    this.costs = new Float32Array(this.slots.buffer);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 4) if (old[i] !== 0) this.insert(old[i]! - 1, old[i + 1]!, old[i + 2]!, oldCosts[i + 3]!);
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
