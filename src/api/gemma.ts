/**
 * Gemma: a loaded model with its tokenizer, the user-facing object that `loadModel` returns.
 *
 *   model.generate(prompt, opts)        raw continuation (async iterator of text + result)
 *   model.chat(messages, opts)          one chat turn from a message list
 *   model.createChatSession(opts)       multi-turn chat that keeps its KV cache
 *   model.chat.completions.create(req)  OpenAI-shaped chat (stream: true for chunks)
 *   model.completions.create(req)       OpenAI-shaped text completion
 *   model.logits(tokens) / tokenize / detokenize / onLayer(hook) / dispose()
 *
 * Concurrency: calls on one model run one at a time in FIFO order (a queue), each with its own
 * view of the cache, so outputs never interleave. With `maxQueue` set, a call that would wait
 * behind more than maxQueue others is rejected with GemmaError('BUSY').
 */
import { GemmaError } from '../errors.js';
import type { Loaded } from '../load.js';
import type { GemmaConfig } from '../model/config.js';
import type { ForwardOptions } from '../model/forward.js';
import type { GemmaModel } from '../model/model.js';
import type { ChatMessage, GemmaTokenizer } from '../tokenizer/index.js';
import { type ChatPromptDeps, chatPromptIds, renderMessages, type RenderOptions } from './chat-prompt.js';
import { ChatSession, type ChatSessionOptions, type SessionHost } from './chat-session.js';
import { type GenerateOptions, runGeneration } from './decode-loop.js';
import { type GenerateResult, Generation, TaskQueue } from './generation.js';
import { KvContext } from './kv-context.js';
import {
  type ChatCompletion, type ChatCompletionChunk, type ChatCompletionRequest, type Completion, type CompletionRequest,
  createChatCompletion, createCompletion, type OpenAIHost, type RequestOptions,
} from './openai.js';
import { resolveSampling } from './sampler.js';

export type LayerHook = (layer: number, hidden: Float32Array, rows: number) => void | Promise<void>;

export interface GemmaInit {
  loaded: Loaded;
  /** model name reported by the OpenAI-shaped API */
  name: string;
  /** backend actually used, and why it was chosen */
  backend: string;
  backendReason?: string;
  /** callers allowed to wait behind the running one (default: no limit) */
  maxQueue?: number;
}

export interface ChatCompletions {
  create(req: ChatCompletionRequest & { stream: true }, o?: RequestOptions): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(req: ChatCompletionRequest & { stream?: false | null }, o?: RequestOptions): Promise<ChatCompletion>;
  create(req: ChatCompletionRequest, o?: RequestOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

export interface Completions {
  create(req: CompletionRequest & { stream: true }, o?: RequestOptions): Promise<AsyncIterable<Completion>>;
  create(req: CompletionRequest & { stream?: false | null }, o?: RequestOptions): Promise<Completion>;
  create(req: CompletionRequest, o?: RequestOptions): Promise<Completion | AsyncIterable<Completion>>;
}

/** `model.chat(messages)` is a function that also carries `.completions.create` (OpenAI's shape). */
export interface ChatApi {
  (messages: ChatMessage[], opts?: GenerateOptions): Generation;
  completions: ChatCompletions;
}

function now(): number { return globalThis.performance?.now() ?? Date.now(); }

export class Gemma implements SessionHost, OpenAIHost {
  readonly name: string;
  readonly config: GemmaConfig;
  readonly format: 'gguf' | 'safetensors';
  /** 'webgpu' | 'wasm' | 'reference' | a custom backend's name */
  readonly backend: string;
  readonly backendReason: string | undefined;
  /** the tokenizer (undefined for token-id-only models) */
  readonly tokenizer: GemmaTokenizer | undefined;
  /** the chat template from the model files, when there is one */
  readonly chatTemplate: string | undefined;
  readonly contextLength: number;
  readonly chat: ChatApi;
  readonly completions: Completions;
  /** the engine underneath (GemmaModel: eval, KV caches) */
  readonly engine: GemmaModel;

  private readonly queue: TaskQueue;
  private readonly hooks = new Set<LayerHook>();
  private defaultCtx: KvContext | undefined;
  private disposed = false;
  private readonly closeSource: () => Promise<void>;

  constructor(init: GemmaInit) {
    const l = init.loaded;
    this.engine = l.model;
    this.config = l.config;
    this.format = l.format;
    this.tokenizer = l.tokenizer;
    this.chatTemplate = l.chatTemplate;
    this.name = init.name;
    this.backend = init.backend;
    this.backendReason = init.backendReason;
    this.contextLength = l.model.contextLength;
    this.queue = new TaskQueue(init.maxQueue ?? Infinity);
    this.closeSource = l.close;
    const chat = ((messages: ChatMessage[], opts: GenerateOptions = {}) => this.chatGenerate(messages, opts)) as ChatApi;
    chat.completions = { create: ((req: ChatCompletionRequest, o?: RequestOptions) => createChatCompletion(this, req, o)) as ChatCompletions['create'] };
    this.chat = chat;
    this.completions = { create: ((req: CompletionRequest, o?: RequestOptions) => createCompletion(this, req, o)) as Completions['create'] };
  }

  // ------------------------------------------------------------------ generation

  /**
   * Continue `prompt` (text, or token ids). Text gets <bos> prepended unless addBos: false.
   * Returns an async iterator of text chunks that is also a promise of the GenerateResult.
   */
  generate(prompt: string | readonly number[], opts: GenerateOptions = {}): Generation {
    const ids = () => (typeof prompt === 'string' ? this.encodeText(prompt, opts.addBos ?? true) : [...prompt]);
    return this.startGeneration(() => this.context(), ids, opts);
  }

  /** One chat turn: render `messages` with the chat template and generate the model's reply. */
  chatGenerate(messages: ChatMessage[], opts: GenerateOptions = {}): Generation {
    return this.startGeneration(() => this.context(), () => {
      const deps = this.chatDeps();
      return chatPromptIds(deps.tokenizer, renderMessages(deps, messages));
    }, opts);
  }

  /** A conversation that keeps its KV cache across turns. */
  createChatSession(opts: ChatSessionOptions = {}): ChatSession {
    this.checkAlive();
    this.chatDeps();
    return new ChatSession(this, opts);
  }

  /** The prompt text `messages` render to (the model's chat template, or Gemma's for its family). */
  applyChatTemplate(messages: ChatMessage[], opts: RenderOptions = {}): string {
    return renderMessages(this.chatDeps(), messages, opts);
  }

  // ------------------------------------------------------------------ lower level

  /** Logits for `tokens` from an empty cache: [vocab] for the last position, or [n * vocab] with allLogits. */
  logits(tokens: string | readonly number[], opts: { allLogits?: boolean; onLayer?: LayerHook; signal?: AbortSignal } = {}): Promise<Float32Array> {
    this.checkAlive();
    return this.queue.run(async () => {
      this.checkAlive();
      if (opts.signal?.aborted) throw new GemmaError('ABORTED', 'aborted');
      const ids = typeof tokens === 'string' ? this.encodeText(tokens, true) : [...tokens];
      if (ids.length === 0) throw new GemmaError('BAD_ARGUMENT', 'logits needs at least one token');
      if (ids.length > this.config.maxPositions) throw new GemmaError('CONTEXT_OVERFLOW', `${ids.length} tokens exceed the model's ${this.config.maxPositions} positions`);
      for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) throw new GemmaError('BAD_ARGUMENT', `token id ${id} is outside the vocabulary (${this.config.vocabSize})`);
      const fo: ForwardOptions = { allLogits: opts.allLogits };
      const hook = this.layerHook(opts.onLayer);
      if (hook) fo.onLayer = hook;
      return this.engine.logits(ids, fo);
    }, opts.signal);
  }

  /** Token ids of `text` (<bos> first unless addBos: false; special-token text recognised unless allowSpecial: false). */
  tokenize(text: string, opts: { addBos?: boolean; allowSpecial?: boolean } = {}): number[] {
    return this.requireTokenizer().encode(text, { addBos: opts.addBos ?? true, allowSpecial: opts.allowSpecial ?? true });
  }

  /** Text of token ids (special tokens dropped with skipSpecial). */
  detokenize(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    return this.requireTokenizer().decode(ids, opts);
  }

  /** Observe the residual stream after every layer of every evaluation (parity debugging); returns an unsubscribe function. */
  onLayer(hook: LayerHook): () => void {
    this.hooks.add(hook);
    return () => { this.hooks.delete(hook); };
  }

  /** Calls waiting or running on this model. */
  get pending(): number { return this.queue.size; }

  /** Free the weights, caches and backend (waits for running work). Calls after this throw. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.queue.run(async () => {
      if (this.disposed) return;
      this.disposed = true;
      this.defaultCtx?.dispose();
      this.defaultCtx = undefined;
      this.engine.dispose();
      await this.closeSource();
    });
  }

  // ------------------------------------------------------------------ SessionHost (used by ChatSession)

  /** @internal */
  newContext(contextLength?: number): KvContext {
    this.checkAlive();
    return new KvContext(this.engine, this.engine.newCache(contextLength ?? this.contextLength));
  }

  /** @internal */
  chatDeps(): ChatPromptDeps {
    return { tokenizer: this.requireTokenizer(), config: this.config, chatTemplate: this.chatTemplate };
  }

  /** @internal run a generation in the queue; `prompt` is computed when its turn comes */
  startGeneration(ctx: () => KvContext, prompt: () => number[], opts: GenerateOptions, after?: (r: GenerateResult, prompt: number[]) => void): Generation {
    this.checkAlive();
    const tQueued = now();
    return new Generation((emit, signal) => this.queue.run(async () => {
      const queuedMs = now() - tQueued;
      this.checkAlive();
      const ids = prompt();
      const r = await runGeneration(ids, opts, { ctx: ctx(), tokenizer: this.tokenizer, onLayer: this.layerHook(), queuedMs }, emit, signal);
      after?.(r, ids);
      return r;
    }, signal, () => abortedWhileQueued(opts, now() - tQueued)), opts.signal);
  }

  // ------------------------------------------------------------------ internals

  private context(): KvContext {
    this.defaultCtx ??= this.newContext();
    return this.defaultCtx;
  }

  private layerHook(extra?: LayerHook): ForwardOptions['onLayer'] | undefined {
    if (this.hooks.size === 0 && !extra) return undefined;
    const hooks = [...this.hooks, ...(extra ? [extra] : [])];
    return async (l, h, rows) => { for (const f of hooks) await f(l, h, rows); };
  }

  private encodeText(text: string, addBos: boolean): number[] {
    if (typeof text !== 'string') throw new GemmaError('BAD_ARGUMENT', 'the prompt must be a string or a list of token ids');
    const ids = this.requireTokenizer().encode(text, { addBos, allowSpecial: true });
    if (ids.length === 0) throw new GemmaError('BAD_ARGUMENT', 'the prompt is empty (pass addBos: true or some text)');
    return ids;
  }

  private requireTokenizer(): GemmaTokenizer {
    if (!this.tokenizer) throw new GemmaError('TOKENIZER', 'this model has no tokenizer: pass token ids, or load a model with tokenizer files');
    return this.tokenizer;
  }

  private checkAlive(): void {
    if (this.disposed) throw new GemmaError('BAD_ARGUMENT', 'the model was disposed');
  }
}

function abortedWhileQueued(opts: GenerateOptions, queuedMs: number): GenerateResult {
  const seed = opts.seed !== undefined ? resolveSampling({ seed: opts.seed }).seed : 0;
  return {
    text: '', tokens: [], finishReason: 'abort',
    usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: 0 },
    timings: { queuedMs, prefillMs: 0, decodeMs: 0, totalMs: queuedMs, promptTokensPerSecond: 0, tokensPerSecond: 0 },
    tokensPerSecond: 0, seed,
  };
}
