/**
 * Chat messages → prompt token ids, with the model's chat template (or Gemma's published
 * one for its family), and the conversation-so-far shortcut ChatSession uses:
 *
 *   history  = prompt text of turn n, and its ids followed by the reply's ids (+ the stop id)
 *   turn n+1 = render(all messages) = prompt text of turn n + reply (as the template writes it,
 *              e.g. trimmed) + the new turn; its ids are history ids + encode(the new turn)
 *
 * so the reply keeps the exact ids the model produced (even where the template trims it or its
 * text does not re-tokenize the same) and the KV cache is re-used up to the new turn. The split
 * is only made at a whole-token boundary (BPE never merges across <end_of_turn> etc.);
 * otherwise the whole text is encoded and the cache re-use falls back to the common id prefix.
 */
import { GemmaError } from '../errors.js';
import type { GemmaConfig } from '../model/config.js';
import { type ChatMessage, type GemmaTokenizer, renderChat } from '../tokenizer/index.js';

export interface ChatHistory {
  /** the rendered prompt of the last turn */
  prompt: string;
  /** the reply's text as generated, and the stop token's text ('' when it stopped otherwise) */
  reply: string;
  stop: string;
  /** prompt ids + reply ids (+ stop id) */
  ids: number[];
}

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

/** Token ids of a rendered chat prompt, re-using `history` when the text continues it at a token boundary. */
export function chatPromptIds(tok: GemmaTokenizer, text: string, history?: ChatHistory): number[] {
  if (history && text.startsWith(history.prompt)) {
    const rest = text.slice(history.prompt.length);
    // the reply as the template may have written it: verbatim or trimmed (Jinja `| trim`)
    for (const reply of new Set([history.reply, history.reply.trim()])) {
      const done = reply + history.stop;
      if (!rest.startsWith(done) || rest.length === done.length) continue;
      const tail = rest.slice(done.length);
      if (!atWholeTokenBoundary(tok, history.prompt + done, tail)) continue;
      const ids = encodeTail(tok, tail);
      if (ids) return [...history.ids, ...ids];
    }
  }
  const ids = tok.encode(text, { allowSpecial: true });
  if (ids.length === 0) throw new GemmaError('BAD_ARGUMENT', 'the chat prompt is empty');
  return ids;
}
