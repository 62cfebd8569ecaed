/**
 * OpenAI-shaped calls (the request/response JSON of /v1/chat/completions and /v1/completions),
 * so code written for OpenAI's SDK or WebLLM runs on a local Gemma:
 *
 *   const r = await model.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }] });
 *   r.choices[0].message.content
 *   for await (const c of await model.chat.completions.create({ messages, stream: true }))
 *     process.stdout.write(c.choices[0]?.delta.content ?? '');
 *
 * Sampling fields not given fall back to this library's defaults (sampler.ts), not OpenAI's.
 * Extensions: top_k, min_p, repetition_penalty, ignore_eos. n must be 1. An aborted request rejects with
 * GemmaError('ABORTED') (OpenAI has no finish reason for it).
 */
import { GemmaError } from '../errors.js';
import type { ChatMessage } from '../tokenizer/index.js';
import type { GenerateOptions } from './decode-loop.js';
import type { GenerateResult, Generation, TokenLogprob } from './generation.js';

interface SamplingFields {
  model?: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  repetition_penalty?: number | null;
  /** extension (llama.cpp server): keep generating through <eos>/<end_of_turn> */
  ignore_eos?: boolean | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  user?: string;
}

export interface ChatCompletionRequest extends SamplingFields {
  messages: ChatMessage[];
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
}

export interface CompletionRequest extends SamplingFields {
  prompt: string | number[];
  /** legacy completions: number of top alternatives per token */
  logprobs?: number | null;
  echo?: boolean;
}

export interface OpenAIUsage { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details?: { cached_tokens: number } }
export type OpenAIFinish = 'stop' | 'length';

export interface ChatLogprobs {
  content: { token: string; logprob: number; bytes: number[]; top_logprobs: { token: string; logprob: number; bytes: number[] }[] }[];
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: number; message: { role: 'assistant'; content: string }; logprobs: ChatLogprobs | null; finish_reason: OpenAIFinish }[];
  usage: OpenAIUsage;
  /** extension: speed of this request */
  timings?: { prompt_ms: number; predicted_ms: number; predicted_per_second: number };
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { role?: 'assistant'; content?: string }; logprobs: ChatLogprobs | null; finish_reason: OpenAIFinish | null }[];
  usage?: OpenAIUsage | null;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; logprobs: CompletionLogprobs | null; finish_reason: OpenAIFinish | null }[];
  usage?: OpenAIUsage | null;
}

export interface CompletionLogprobs { tokens: string[]; token_logprobs: number[]; top_logprobs: Record<string, number>[] | null; text_offset: number[] }

/** What the OpenAI layer needs from a model (implemented by Gemma). */
export interface OpenAIHost {
  readonly name: string;
  generate(prompt: string | readonly number[], opts?: GenerateOptions): Generation;
  chatGenerate(messages: ChatMessage[], opts?: GenerateOptions): Generation;
}

export interface RequestOptions { signal?: AbortSignal }

function bad(field: string, msg: string): GemmaError { return new GemmaError('BAD_ARGUMENT', msg, { field }); }

function opt<T>(v: T | null | undefined): T | undefined { return v === null ? undefined : v; }

function numField(req: object, key: string): number | undefined {
  const v = (req as Record<string, unknown>)[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(key, `${key} must be a number`);
  return v;
}

/** Map an OpenAI request onto GenerateOptions (validating types). */
export function generateOptionsFrom(req: SamplingFields & { max_completion_tokens?: number | null }, signal?: AbortSignal): GenerateOptions {
  if (typeof req !== 'object' || req === null) throw bad('request', 'the request must be an object');
  const n = numField(req, 'n');
  if (n !== undefined && n !== 1) throw bad('n', 'only n = 1 is supported');
  const stop = opt(req.stop);
  if (stop !== undefined && typeof stop !== 'string' && !(Array.isArray(stop) && stop.every((s) => typeof s === 'string'))) throw bad('stop', 'stop must be a string or a list of strings');
  if (Array.isArray(stop) && stop.length > 16) throw bad('stop', 'at most 16 stop strings');
  const o: GenerateOptions = {
    maxTokens: numField(req, 'max_completion_tokens') ?? numField(req, 'max_tokens'),
    temperature: numField(req, 'temperature'),
    topP: numField(req, 'top_p'),
    topK: numField(req, 'top_k'),
    minP: numField(req, 'min_p'),
    seed: numField(req, 'seed'),
    presencePenalty: numField(req, 'presence_penalty'),
    frequencyPenalty: numField(req, 'frequency_penalty'),
    repetitionPenalty: numField(req, 'repetition_penalty'),
    stop,
    signal,
  };
  if (req.ignore_eos) o.ignoreEos = true;
  for (const k of Object.keys(o) as (keyof GenerateOptions)[]) if (o[k] === undefined) delete o[k];
  return o;
}

let counter = 0;
function newId(prefix: string): string {
  counter = (counter + 1) % 1e9;
  return `${prefix}-${Date.now().toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}`;
}

function usageOf(r: GenerateResult): OpenAIUsage {
  return { prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens, total_tokens: r.usage.totalTokens, prompt_tokens_details: { cached_tokens: r.usage.cachedTokens } };
}

function finishOf(r: GenerateResult): OpenAIFinish {
  if (r.finishReason === 'abort') throw new GemmaError('ABORTED', 'the request was aborted');
  return r.finishReason;
}

function chatLogprobs(lp: TokenLogprob[] | undefined): ChatLogprobs | null {
  if (!lp) return null;
  return { content: lp.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes, top_logprobs: t.top.map((x) => ({ token: x.token, logprob: x.logprob, bytes: x.bytes })) })) };
}

function checkMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw bad('messages', 'messages must be a non-empty list');
  return messages.map((m: unknown, i) => {
    const msg = m as { role?: unknown; content?: unknown };
    if (typeof m !== 'object' || m === null || typeof msg.role !== 'string') throw bad('messages', `message ${i} needs a role`);
    if (!['system', 'developer', 'user', 'assistant', 'model'].includes(msg.role)) throw bad('messages', `message ${i} has role ${JSON.stringify(msg.role)} (system, user, assistant)`);
    let content = msg.content;
    if (content === null || content === undefined) content = '';
    if (typeof content !== 'string' && !Array.isArray(content)) throw bad('messages', `message ${i} content must be a string or a list of parts`);
    return { role: msg.role === 'developer' ? 'system' : msg.role, content } as ChatMessage;
  });
}

export async function createChatCompletion(host: OpenAIHost, req: ChatCompletionRequest, o: RequestOptions = {}): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
  const messages = checkMessages(req?.messages);
  const gen = generateOptionsFrom(req, o.signal);
  const top = numField(req, 'top_logprobs');
  if (req.logprobs) gen.logprobs = top ?? 0;
  else if (top !== undefined) throw bad('top_logprobs', 'top_logprobs needs logprobs: true');
  const id = newId('chatcmpl'), created = Math.floor(Date.now() / 1000), model = req.model ?? host.name;
  const g = host.chatGenerate(messages, gen);
  if (!req.stream) {
    const r = await g.result;
    return {
      id, object: 'chat.completion', created, model,
      choices: [{ index: 0, message: { role: 'assistant', content: r.text }, logprobs: chatLogprobs(r.logprobs), finish_reason: finishOf(r) }],
      usage: usageOf(r),
      timings: { prompt_ms: r.timings.prefillMs, predicted_ms: r.timings.decodeMs, predicted_per_second: r.tokensPerSecond },
    };
  }
  const includeUsage = !!req.stream_options?.include_usage;
  const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], finish: OpenAIFinish | null): ChatCompletionChunk =>
    ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) });
  return (async function* () {
    yield chunk({ role: 'assistant', content: '' }, null);
    for await (const text of g) yield chunk({ content: text }, null);
    const r = await g.result;
    const last = chunk({}, finishOf(r));
    if (r.logprobs) last.choices[0]!.logprobs = chatLogprobs(r.logprobs);
    yield last;
    if (includeUsage) yield { id, object: 'chat.completion.chunk' as const, created, model, choices: [], usage: usageOf(r) };
  })();
}

export async function createCompletion(host: OpenAIHost, req: CompletionRequest, o: RequestOptions = {}): Promise<Completion | AsyncIterable<Completion>> {
  if (typeof req !== 'object' || req === null) throw bad('request', 'the request must be an object');
  const p = req.prompt;
  if (typeof p !== 'string' && !(Array.isArray(p) && p.every((x) => Number.isInteger(x)))) throw bad('prompt', 'prompt must be a string or a list of token ids');
  const gen = generateOptionsFrom(req, o.signal);
  const lp = numField(req, 'logprobs');
  if (lp !== undefined) gen.logprobs = lp;
  const id = newId('cmpl'), created = Math.floor(Date.now() / 1000), model = req.model ?? host.name;
  const g = host.generate(p, gen);
  const prefix = req.echo && typeof p === 'string' ? p : '';
  if (!req.stream) {
    const r = await g.result;
    return { id, object: 'text_completion', created, model, choices: [{ index: 0, text: prefix + r.text, logprobs: completionLogprobs(r.logprobs), finish_reason: finishOf(r) }], usage: usageOf(r) };
  }
  const includeUsage = !!req.stream_options?.include_usage;
  return (async function* () {
    if (prefix) yield { id, object: 'text_completion' as const, created, model, choices: [{ index: 0, text: prefix, logprobs: null, finish_reason: null }] };
    for await (const text of g) yield { id, object: 'text_completion' as const, created, model, choices: [{ index: 0, text, logprobs: null, finish_reason: null }] };
    const r = await g.result;
    yield { id, object: 'text_completion' as const, created, model, choices: [{ index: 0, text: '', logprobs: completionLogprobs(r.logprobs), finish_reason: finishOf(r) }], ...(includeUsage ? { usage: usageOf(r) } : {}) };
  })();
}

function completionLogprobs(lp: TokenLogprob[] | undefined): CompletionLogprobs | null {
  if (!lp) return null;
  let off = 0;
  const text_offset = lp.map((t) => { const o = off; off += t.token.length; return o; });
  return {
    tokens: lp.map((t) => t.token),
    token_logprobs: lp.map((t) => t.logprob),
    top_logprobs: lp.map((t) => Object.fromEntries(t.top.map((x) => [x.token, x.logprob]))),
    text_offset,
  };
}
