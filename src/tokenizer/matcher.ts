/**
 * AtomicMatcher: finds whole-token strings (added tokens, user-defined and control
 * pieces) in text, leftmost-longest, as HF's added-token splitter and SentencePiece's
 * prefix matcher do. A trie keyed by UTF-16 code units: the root's children sit in a
 * 64K table (most characters start no token), deeper edges in one Map keyed by
 * node * 65536 + code unit.
 */
/**
 * Which special-token text encode recognises: true = all, false = none (user text taken
 * literally), 'userDefined' = user-defined pieces but not control ones (what SentencePiece's
 * own encode does with a tokenizer.model).
 */
export type SpecialMode = boolean | 'userDefined';

export class AtomicMatcher {
  private readonly rootChild = new Int32Array(65536).fill(-1);
  private readonly edges = new Map<number, number>();
  /** node → token id ending there, or -1 */
  private terminal: number[] = [-1];
  /** node → whether that token is special (suppressed when matching literally) */
  private terminalSpecial: boolean[] = [false];
  /** node → whether that token is a user-defined piece (SentencePiece matches those in plain text) */
  private terminalUser: boolean[] = [false];
  readonly count: number;

  constructor(tokens: Iterable<{ text: string; id: number; special: boolean; userDefined?: boolean }>) {
    let count = 0;
    for (const t of tokens) {
      if (t.text.length === 0) continue;
      let node = 0;
      for (let i = 0; i < t.text.length; i++) node = this.child(node, t.text.charCodeAt(i));
      this.terminal[node] = t.id;
      this.terminalSpecial[node] = t.special;
      this.terminalUser[node] = t.userDefined === true;
      count++;
    }
    this.count = count;
  }

  private child(node: number, c: number): number {
    const existing = node === 0 ? this.rootChild[c]! : (this.edges.get(node * 65536 + c) ?? -1);
    if (existing >= 0) return existing;
    const created = this.terminal.length;
    this.terminal.push(-1);
    this.terminalSpecial.push(false);
    this.terminalUser.push(false);
    if (node === 0) this.rootChild[c] = created; else this.edges.set(node * 65536 + c, created);
    return created;
  }

  /**
   * Longest token starting at `pos` (skipping special ones unless `allowSpecial`).
   * Returns its length in code units and sets `lastId`, or returns 0.
   */
  lastId = -1;
  /** one past the last character the latest matchAt looked at */
  scanEnd = 0;
  matchAt(text: string, pos: number, allowSpecial: SpecialMode): number {
    let node = this.rootChild[text.charCodeAt(pos)]!;
    this.scanEnd = pos + 1;
    if (node < 0) return 0;
    let best = 0;
    for (let i = pos + 1; ; i++) {
      const id = this.terminal[node]!;
      if (id >= 0 && (allowSpecial === true || !this.terminalSpecial[node] || (allowSpecial === 'userDefined' && this.terminalUser[node]))) { best = i - pos; this.lastId = id; }
      if (i >= text.length) { this.scanEnd = i; break; }
      this.scanEnd = i + 1;
      const nextNode = this.edges.get(node * 65536 + text.charCodeAt(i));
      if (nextNode === undefined) break;
      node = nextNode;
    }
    return best;
  }

  /** Whether `text` is, in full, one token (special ones only when allowed); sets `lastId`. */
  isWhole(text: string, allowSpecial: SpecialMode): boolean {
    return text.length > 0 && this.matchAt(text, 0, allowSpecial) === text.length;
  }
}
