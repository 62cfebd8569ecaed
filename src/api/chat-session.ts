/**
 * A multi-turn conversation that keeps its own KV cache between turns.
 *
 *   const chat = model.createChatSession({ system: 'Answer briefly.' });
 *   for await (const t of chat.send('Hi!')) process.stdout.write(t);
 *   const r = await chat.send('And then?');      // evaluates only the new turn's tokens
 *
 * Each turn renders the whole conversation with the chat template, takes its ids (re-using
 * the previous turn's ids, see chat-prompt.ts) and evaluates only what the cache does not
 * hold. Sliding-window layers keep just their window (a ring buffer, see KvCache), so a long
 * conversation costs window-sized memory on those layers; when an edit reaches behind a ring
 * buffer's window the cache is recomputed from the start.
 *
 * A turn that fails or is aborted is not recorded (messages stay as they were).
 */
import { GemmaError } from '../errors.js';
import type { ChatMessage } from '../tokenizer/index.js';
import { type ChatHistory, type ChatPromptDeps, chatPromptIds, renderMessages } from './chat-prompt.js';
import type { GenerateOptions } from './decode-loop.js';
import type { GenerateResult, Generation } from './generation.js';
import type { KvContext } from './kv-context.js';

export interface ChatSessionOptions {
  /** system prompt (folded into the first user turn for Gemma templates that have no system role) */
  system?: string;
  /** earlier messages to start from */
  messages?: ChatMessage[];
  /** KV cache size for this session (default: the model's contextLength) */
  contextLength?: number;
  /** override the chat template (Jinja text) */
  template?: string;
}

/** What a session needs from its model (implemented by Gemma). */
export interface SessionHost {
  newContext(contextLength?: number): KvContext;
  chatDeps(): ChatPromptDeps;
  /** run a generation on `ctx` in the model's queue; `prompt` is computed when its turn comes */
  startGeneration(ctx: () => KvContext, prompt: () => number[], opts: GenerateOptions, after?: (r: GenerateResult, prompt: number[]) => void): Generation;
}

export class ChatSession {
  /** the conversation so far (system message first, when there is one) */
  readonly messages: ChatMessage[];
  private history: ChatHistory | undefined;
  private ctx: KvContext | undefined;
  private disposed = false;

  constructor(private readonly host: SessionHost, private readonly opts: ChatSessionOptions = {}) {
    this.messages = [...(opts.system !== undefined ? [{ role: 'system', content: opts.system }] : []), ...(opts.messages ?? [])];
  }

  /** Send a user message (or several messages) and stream the model's reply. */
  send(content: string | ChatMessage | ChatMessage[], opts: GenerateOptions = {}): Generation {
    if (this.disposed) throw new GemmaError('BAD_ARGUMENT', 'this chat session was disposed');
    const added: ChatMessage[] = typeof content === 'string' ? [{ role: 'user', content }] : Array.isArray(content) ? content : [content];
    let text = '';
    const prompt = (): number[] => {
      const deps = this.host.chatDeps();
      text = renderMessages(deps, [...this.messages, ...added], { template: this.opts.template });
      return chatPromptIds(deps.tokenizer, text, this.history);
    };
    return this.host.startGeneration(() => this.context(), prompt, opts, (r, ids) => {
      if (r.finishReason === 'abort') return;
      this.messages.push(...added, { role: 'assistant', content: r.text });
      this.history = this.nextHistory(text, ids, r);
    });
  }

  /** The rendered prompt text of the conversation so far (with the model turn opened). */
  prompt(): string { return renderMessages(this.host.chatDeps(), this.messages, { template: this.opts.template }); }

  /** Forget the conversation (keeps the system prompt; its cached tokens are re-used). */
  reset(): void {
    const sys = this.messages[0]?.role === 'system' ? [this.messages[0]] : [];
    this.messages.splice(0, this.messages.length, ...sys);
    this.history = undefined;
  }

  /** Replace (or remove, with undefined) the system prompt. */
  setSystem(system: string | undefined): void {
    if (this.messages[0]?.role === 'system') this.messages.shift();
    if (system !== undefined) this.messages.unshift({ role: 'system', content: system });
    this.history = undefined;
  }

  /** the token ids held in the KV cache (the conversation as the model has seen it) */
  get contextTokens(): readonly number[] { return [...(this.ctx?.ids ?? [])]; }

  /** tokens held in the KV cache */
  get cachedTokens(): number { return this.ctx?.ids.length ?? 0; }

  /** tokens this session has run through the model so far */
  get evaluatedTokens(): number { return this.ctx?.evaluatedTotal ?? 0; }

  dispose(): void {
    this.disposed = true;
    this.ctx?.dispose();
    this.ctx = undefined;
  }

  private context(): KvContext {
    if (this.disposed) throw new GemmaError('BAD_ARGUMENT', 'this chat session was disposed');
    this.ctx ??= this.host.newContext(this.opts.contextLength);
    return this.ctx;
  }

  /** history for the next turn: only when the reply's ids and text correspond exactly */
  private nextHistory(prompt: string, promptIds: number[], r: GenerateResult): ChatHistory | undefined {
    const tok = this.host.chatDeps().tokenizer;
    if (r.stoppedBy && 'string' in r.stoppedBy) return undefined;
    if (r.tokens.some((id) => tok.special[id])) return undefined;
    const ids = [...promptIds, ...r.tokens];
    let stop = '';
    if (r.stoppedBy && 'token' in r.stoppedBy) {
      const piece = tok.idToPiece(r.stoppedBy.token);
      if (piece === undefined) return undefined;
      ids.push(r.stoppedBy.token);
      stop = piece;
    }
    return { prompt, reply: r.text, stop, ids };
  }
}
