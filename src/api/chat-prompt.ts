/**
 * Chat messages → prompt token ids, with the model's chat template (or Gemma's published
 * one for its family), and the conversation-so-far shortcut ChatSession uses:
 *
 *   history  = rendered prompt of turn n  +  the reply's text   ↔  prompt ids + reply ids (+ stop id)
 *   turn n+1 = render(all messages); if it starts with `history`, its ids are
 *              history ids + encode(the new suffix)
 *
 * so the reply keeps the exact ids the model produced and the KV cache is re-used up to the
 * new suffix. The split is only made at a whole-token boundary (BPE never merges across
 * <end_of_turn> etc.); otherwise the whole text is encoded and the cache re-use falls back to
 * the common id prefix.
 */
import { GemmaError } from '../errors.js';
import type { GemmaConfig } from '../model/config.js';
import { type ChatMessage, type GemmaTokenizer, renderChat } from '../tokenizer/index.js';

export interface ChatHistory { text: string; ids: number[] }

export interface ChatPromptDeps {
  tokenizer: GemmaTokenizer;
  config: GemmaConfig;
  chatTemplate?: string;
}

export interface RenderOptions {
  /** override the template (Jinja text) */
  template?: string;
  /** end with the opening of the model turn (default true) */
  addGenerationPrompt?: boolean;
}

export function renderMessages(d: ChatPromptDeps, messages: ChatMessage[], o: RenderOptions = {}): string {
  const tok = d.tokenizer;
  return renderChat(messages, {
    template: o.template ?? d.chatTemplate,
    family: d.config.family,
    bosToken: tok.bosId >= 0 ? tok.idToPiece(tok.bosId) : '',
    eosToken: tok.eosId >= 0 ? tok.idToPiece(tok.eosId) : '',
    foldSystem: true,
    addGenerationPrompt: o.addGenerationPrompt ?? true,
  });
}

function atWholeTokenBoundary(tok: GemmaTokenizer, before: string, after: string): boolean {
  for (const a of tok.atomicTokens) if (after.startsWith(a.text) || before.endsWith(a.text)) return true;
  return false;
}

/**
 * ids of `rest` as they appear after a whole token inside a longer text: encoded behind an
 * anchor token (so a dummy-prefix tokenizer treats it as mid-text), anchor dropped.
 */
function encodeTail(tok: GemmaTokenizer, rest: string): number[] | undefined {
  const anchor = tok.atomicTokens.find((a) => a.special && a.id === tok.bosId) ?? tok.atomicTokens.find((a) => a.special);
  if (!anchor) return tok.addDummyPrefix ? undefined : tok.encode(rest, { allowSpecial: true });
  const head = tok.encode(anchor.text, { allowSpecial: true });
  const ids = tok.encode(anchor.text + rest, { allowSpecial: true });
  for (let i = 0; i < head.length; i++) if (ids[i] !== head[i]) return undefined;
  return ids.slice(head.length);
}

/** Token ids of a rendered chat prompt, re-using `history` when it is a prefix at a token boundary. */
export function chatPromptIds(tok: GemmaTokenizer, text: string, history?: ChatHistory): number[] {
  if (history && text.length > history.text.length && text.startsWith(history.text)) {
    const rest = text.slice(history.text.length);
    const tail = atWholeTokenBoundary(tok, history.text, rest) ? encodeTail(tok, rest) : undefined;
    if (tail) return [...history.ids, ...tail];
  }
  const ids = tok.encode(text, { allowSpecial: true });
  if (ids.length === 0) throw new GemmaError('BAD_ARGUMENT', 'the chat prompt is empty');
  return ids;
}
