/** Tokenizer files and chat templates for synthetic models (kept apart from synth.ts, which has no tokenizer dependency). */
import { BUILTIN_CHAT_TEMPLATES } from '../tokenizer/chat.js';
import { GemmaTokenizer } from '../tokenizer/index.js';
import type { GemmaFamily } from './config.js';
import { synthVocab } from './synth-vocab.js';

export function synthTokenizer(vocabSize: number): GemmaTokenizer {
  const v = synthVocab(vocabSize);
  return GemmaTokenizer.fromPieces({ pieces: v.pieces, scores: v.scores, types: v.types, bosId: v.bosId, eosId: v.eosId, padId: v.padId, unkId: v.unkId });
}

export function synthTokenizerJson(vocabSize: number): string {
  return synthTokenizer(vocabSize).toTokenizerJson();
}

export function builtinChatTemplate(family: GemmaFamily): string {
  return BUILTIN_CHAT_TEMPLATES[family];
}
