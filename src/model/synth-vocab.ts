/**
 * A synthetic SentencePiece-style vocabulary for synthetic models: Gemma's special
 * layout (pad 0, eos 1, bos 2, unk 3, turn markers), 256 byte-fallback pieces, then
 * BPE pieces learned from a small built-in English text, padded with unreachable
 * filler pieces up to the requested size. Deterministic.
 */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface VocabSpec {
  pieces: string[];
  scores: Float32Array;
  types: Int32Array;
  bosId: number; eosId: number; padId: number; unkId: number;
}

const TEXT = `In the beginning the engine read the weights, and the weights were random. Then the model said: let there be text,
and there was text. The quick brown fox jumps over the lazy dog. A small model writes small words; a large model writes
large ones. Numbers like 0 1 2 3 4 5 6 7 8 9 and symbols like (a + b) * c = d; {x: [1, 2]} appear in code.
def forward(tokens): return logits  # python
function main() { console.log("hello world"); }
Gemma is a family of open models. It reads tokens, attends to the past, and predicts the next token.
The cat sat on the mat. The dog ran in the park. She sells sea shells by the sea shore. To be, or not to be.`;

export function synthVocab(size: number): VocabSpec {
  if (size < 300) throw new Error(`synthetic vocab needs at least 300 pieces, got ${size}`);
  const pieces: string[] = ['<pad>', '<eos>', '<bos>', '<unk>', '<start_of_turn>', '<end_of_turn>'];
  const types: number[] = [TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL, TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.USER_DEFINED, TOKEN_TYPE.USER_DEFINED];
  for (let b = 0; b < 256; b++) {
    pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.BYTE);
  }
  const seen = new Set(pieces);
  const add = (p: string) => { if (!seen.has(p) && pieces.length < size) { seen.add(p); pieces.push(p); types.push(TOKEN_TYPE.NORMAL); } };
  // single characters of the text (spaces as U+2581), most frequent first
  const text = TEXT.replace(/ /g, '\u2581');
  const freq = new Map<string, number>();
  for (const ch of text) freq.set(ch, (freq.get(ch) ?? 0) + 1);
  [...freq.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).forEach(([ch]) => add(ch));
  // BPE merges on the text, split into words at U+2581 boundaries
  let words = text.split(/(?=\u2581)/).map((w) => [...w]);
  while (pieces.length < size) {
    const pairs = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) { const k = w[i] + '\u0000' + w[i + 1]; pairs.set(k, (pairs.get(k) ?? 0) + 1); }
    let best = '', bestN = 1;
    for (const [k, n] of pairs) if (n > bestN || (n === bestN && best !== '' && k < best)) { best = k; bestN = n; }
    if (!best) break;
    const [a, b] = best.split('\u0000') as [string, string];
    add(a + b);
    words = words.map((w) => {
      const o: string[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) { o.push(a + b); i++; } else o.push(w[i]!);
      }
      return o;
    });
  }
  for (let i = 0; pieces.length < size; i++) add(`\u2581tok${i}`);
  const scores = new Float32Array(size);
  // control/byte pieces score 0 like SentencePiece; normal pieces rank by merge order
  let rank = 0;
  for (let i = 0; i < size; i++) scores[i] = types[i] === TOKEN_TYPE.NORMAL ? -(rank++) : 0;
  return { pieces, scores, types: Int32Array.from(types), bosId: 2, eosId: 1, padId: 0, unkId: 3 };
}
