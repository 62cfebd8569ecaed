/**
 * PieceIndex: piece string → id, open addressing over an Int32Array of ids (FNV-1a of
 * the UTF-16 code units). Built in one pass over the pieces (a JS Map of 262k fresh
 * strings costs several times more to build), and it can look up the concatenation of
 * two pieces without allocating the joined string.
 */
const EMPTY = -1;

function hashStr(s: string, h: number): number {
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h;
}
const SEED = 0x811c9dc5 | 0;

/** Final mix so that the low bits used as a slot depend on every input bit. */
function slotOf(h: number, mask: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h & mask;
}

export class PieceIndex {
  private readonly table: Int32Array;
  private readonly mask: number;

  /** `onDuplicate(existingId, newId)` returns the id to keep under that string. */
  constructor(private readonly pieces: readonly string[], onDuplicate: (existing: number, id: number) => number) {
    let cap = 16;
    while (cap < pieces.length * 2) cap *= 2;
    this.table = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    for (let id = 0; id < pieces.length; id++) {
      const p = pieces[id]!;
      let i = slotOf(hashStr(p, SEED), this.mask);
      for (;;) {
        const other = this.table[i]!;
        if (other === EMPTY) { this.table[i] = id; break; }
        if (pieces[other] === p) { this.table[i] = onDuplicate(other, id); break; }
        i = (i + 1) & this.mask;
      }
    }
  }

  get(piece: string): number | undefined {
    let i = slotOf(hashStr(piece, SEED), this.mask);
    for (;;) {
      const id = this.table[i]!;
      if (id === EMPTY) return undefined;
      if (this.pieces[id] === piece) return id;
      i = (i + 1) & this.mask;
    }
  }

  /** id of a + b, or -1. */
  getConcat(a: string, b: string): number {
    const len = a.length + b.length;
    let i = slotOf(hashStr(b, hashStr(a, SEED)), this.mask);
    for (;;) {
      const id = this.table[i]!;
      if (id === EMPTY) return -1;
      const p = this.pieces[id]!;
      if (p.length === len && p.startsWith(a) && p.endsWith(b)) return id;
      i = (i + 1) & this.mask;
    }
  }
}
