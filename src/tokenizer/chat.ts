/**
 * Chat prompts: render a conversation with the model's own Jinja template
 * (tokenizer_config.json chat_template or GGUF tokenizer.chat_template) through
 * @huggingface/jinja, with transformers' settings (trim_blocks, lstrip_blocks,
 * raise_exception), or with the published Gemma templates below when a model has none.
 *
 * System messages: Gemma 1/2 templates raise on a system role and Gemma 3 folds it into
 * the first user turn. `foldSystem: true` folds it for every template the way Gemma 3
 * does (system text, a blank line, the first user message); without it a template that
 * rejects the system role ends in GemmaError('TEMPLATE') saying so. Never a silent drop.
 */
import { Environment, parse, tokenize } from '@huggingface/jinja';
import { GemmaError } from '../errors.js';
import { BudgetedInterpreter, DEFAULT_TEMPLATE_BUDGET, type TemplateBudget, TemplateBudgetExceeded } from './template-budget.js';

export interface ChatContentPart { type: 'text' | 'image' | 'audio' | string; text?: string }

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'model' | string;
  content: string | ChatContentPart[];
}

export interface RenderChatOptions {
  /** Jinja template text; default: the built-in template of `family` */
  template?: string;
  /** Gemma generation for the built-in template (default 3) */
  family?: 1 | 2 | 3;
  /** end with the opening of the model's turn (default true) */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** fold a leading system message into the first user turn when the template cannot take one */
  foldSystem?: boolean;
  /** longest rendered prompt, in UTF-16 code units (default 64 Mi); also bounds every string the template builds */
  maxChars?: number;
  /** longest rendering, ms (default 1000 + 1 per message); templates also stop after 2 M + 1000 per message evaluation steps */
  timeoutMs?: number;
}

/** Published Gemma chat templates (google/gemma-*-it tokenizer_config.json). */
export const BUILTIN_CHAT_TEMPLATES: { 1: string; 2: string; 3: string } = {
  1: GEMMA_1_TEMPLATE(),
  2: GEMMA_2_TEMPLATE(),
  3: GEMMA_3_TEMPLATE(),
};

function GEMMA_1_TEMPLATE(): string {
  return "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";
}

function GEMMA_2_TEMPLATE(): string {
  return "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";
}

function GEMMA_3_TEMPLATE(): string {
  return "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if messages[0]['content'] is string -%}\n        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n    {%- else -%}\n        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n    {%- endif -%}\n    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message in loop_messages -%}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n    {%- endif -%}\n    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n    {%- else -%}\n        {%- set role = message['role'] -%}\n    {%- endif -%}\n    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n    {%- if message['content'] is string -%}\n        {{ message['content'] | trim }}\n    {%- elif message['content'] is iterable -%}\n        {%- for item in message['content'] -%}\n            {%- if item['type'] == 'image' -%}\n                {{ '<start_of_image>' }}\n            {%- elif item['type'] == 'text' -%}\n                {{ item['text'] | trim }}\n            {%- endif -%}\n        {%- endfor -%}\n    {%- else -%}\n        {{ raise_exception(\"Invalid content type\") }}\n    {%- endif -%}\n    {{ '<end_of_turn>\n' }}\n{%- endfor -%}\n{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n";
}

// ---------------------------------------------------------------------------

const MAX_TEMPLATE_CHARS = 1 << 20;
const MAX_MESSAGES = 100_000;
const MAX_CONTENT_CHARS = 64 << 20;
const MAX_RANGE = 100_000;

type Program = ReturnType<typeof parse>;
const programCache = new Map<string, Program>();
const nativeSystemCache = new Map<string, boolean>();

function compile(template: string): Program {
  const cached = programCache.get(template);
  if (cached) return cached;
  if (template.length > MAX_TEMPLATE_CHARS) throw new GemmaError('LIMIT', `chat template of ${template.length} characters is over ${MAX_TEMPLATE_CHARS}`);
  let program: Program;
  try {
    program = parse(tokenize(template, { lstrip_blocks: true, trim_blocks: true }));
  } catch (cause) {
    throw new GemmaError('TEMPLATE', `chat template does not parse: ${(cause as Error).message}`, { cause });
  }
  if (programCache.size >= 16) programCache.delete(programCache.keys().next().value!);
  programCache.set(template, program);
  return program;
}

class TemplateRaised extends Error {}

/**
 * The globals transformers gives a template, with `range` bounded, run under a step, time
 * and size budget (template-budget.ts) so a template from a model file cannot hang us.
 */
function run(program: Program, vars: Record<string, unknown>, budget: TemplateBudget = DEFAULT_TEMPLATE_BUDGET): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false, true: true, none: null, False: false, True: true, None: null,
    raise_exception: (msg: unknown): never => { throw new TemplateRaised(String(msg)); },
    range: (start: number, stop?: number, step = 1): number[] => {
      if (stop === undefined) { stop = start; start = 0; }
      if (step === 0) throw new Error('range() step must not be zero');
      const count = Math.max(0, Math.ceil((stop - start) / step));
      if (!(count <= MAX_RANGE)) throw new Error(`range() of ${count} items is over ${MAX_RANGE}`);
      return Array.from({ length: count }, (_, i) => start + i * step);
    },
    strftime_now: (format: string): string => strftimeNow(format),
    ...vars,
  };
  for (const [k, v] of Object.entries(globals)) env.set(k, v);
  const result = new BudgetedInterpreter(env, budget).run(program) as { value: unknown };
  return String(result.value);
}

function checkMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) throw new GemmaError('BAD_ARGUMENT', 'messages must be an array');
  if (messages.length > MAX_MESSAGES) throw new GemmaError('LIMIT', `${messages.length} messages is over ${MAX_MESSAGES}`);
  let chars = 0;
  messages.forEach((m: unknown, i) => {
    const msg = m as { role?: unknown; content?: unknown };
    if (typeof m !== 'object' || m === null || typeof msg.role !== 'string') throw new GemmaError('BAD_ARGUMENT', `message ${i} needs a string role`);
    if (typeof msg.content === 'string') chars += msg.content.length;
    else if (Array.isArray(msg.content)) {
      for (const part of msg.content as unknown[]) {
        const p = part as { type?: unknown; text?: unknown };
        if (typeof part !== 'object' || part === null || typeof p.type !== 'string') throw new GemmaError('BAD_ARGUMENT', `message ${i} has a content part without a type`);
        if (p.text !== undefined && typeof p.text !== 'string') throw new GemmaError('BAD_ARGUMENT', `message ${i} has a non-string text part`);
        chars += typeof p.text === 'string' ? p.text.length : 0;
      }
    } else throw new GemmaError('BAD_ARGUMENT', `message ${i} content must be a string or a list of parts`);
  });
  if (chars > MAX_CONTENT_CHARS) throw new GemmaError('LIMIT', `messages hold ${chars} characters, over ${MAX_CONTENT_CHARS}`);
}

function textOf(content: ChatMessage['content']): string {
  return typeof content === 'string' ? content : content.filter((p) => p.type === 'text').map((p) => p.text ?? '').join('');
}

/** Does this template take a leading system message itself (Gemma 3 does)? */
function takesSystem(program: Program, template: string): boolean {
  let v = nativeSystemCache.get(template);
  if (v === undefined) {
    const marker = 'SYSTEM\u2063PROBE';
    try {
      const out = run(program, { messages: [{ role: 'system', content: marker }, { role: 'user', content: 'u' }], bos_token: '', eos_token: '', add_generation_prompt: false });
      v = out.includes(marker);
    } catch (cause) {
      // a template that runs out of budget on two messages will not render the real ones either
      if (cause instanceof TemplateBudgetExceeded) throw budgetError(cause);
      v = false;
    }
    if (nativeSystemCache.size >= 16) nativeSystemCache.delete(nativeSystemCache.keys().next().value!);
    nativeSystemCache.set(template, v);
  }
  return v;
}

/** system + user → one user message: "SYSTEM\n\nUSER", as Gemma 3's template lays it out. */
export function foldSystemMessage(messages: ChatMessage[]): ChatMessage[] {
  if (messages.length === 0 || messages[0]!.role !== 'system') return messages;
  const sys = textOf(messages[0]!.content);
  const rest = messages.slice(1);
  const first = rest[0];
  if (!first || first.role !== 'user') return [{ role: 'user', content: sys }, ...rest];
  const content: ChatMessage['content'] = typeof first.content === 'string'
    ? sys + '\n\n' + pyStrip(first.content)
    : [{ type: 'text', text: sys + '\n\n' }, ...first.content];
  return [{ ...first, content }, ...rest.slice(1)];
}

/** Python's str.strip(): Unicode whitespace at both ends. */
function pyStrip(s: string): string {
  return s.replace(/^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/gu, '');
}

export function renderChat(messages: ChatMessage[], opts: RenderChatOptions = {}): string {
  checkMessages(messages);
  const family = opts.family ?? 3;
  if (opts.template === undefined && !(family === 1 || family === 2 || family === 3)) {
    throw new GemmaError('BAD_ARGUMENT', `family must be 1, 2 or 3, not ${String(family)}`);
  }
  const template = opts.template ?? BUILTIN_CHAT_TEMPLATES[family];
  if (typeof template !== 'string') throw new GemmaError('BAD_ARGUMENT', 'template must be a string');
  const program = compile(template);
  let msgs = messages;
  const hasSystem = msgs.length > 0 && msgs[0]!.role === 'system';
  if (hasSystem && opts.foldSystem && !takesSystem(program, template)) msgs = foldSystemMessage(msgs);
  const max = opts.maxChars ?? 64 << 20;
  // rendering costs ~0.1 ms and a few hundred steps per message: long conversations get a larger budget
  const budget: TemplateBudget = {
    ...DEFAULT_TEMPLATE_BUDGET, maxChars: max,
    maxSteps: DEFAULT_TEMPLATE_BUDGET.maxSteps + 1000 * msgs.length,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TEMPLATE_BUDGET.timeoutMs + msgs.length,
  };
  let out: string;
  try {
    out = run(program, {
      messages: msgs,
      bos_token: opts.bosToken ?? '<bos>',
      eos_token: opts.eosToken ?? '<eos>',
      add_generation_prompt: opts.addGenerationPrompt ?? true,
    }, budget);
  } catch (cause) {
    if (cause instanceof TemplateBudgetExceeded) throw budgetError(cause);
    const msg = (cause as Error).message;
    const hint = hasSystem && !opts.foldSystem && /system/i.test(msg)
      ? ' (this template takes no system message; pass foldSystem: true to fold it into the first user turn)'
      : '';
    throw new GemmaError('TEMPLATE', `chat template ${cause instanceof TemplateRaised ? 'raised' : 'failed'}: ${msg}${hint}`, { cause });
  }
  if (out.length > max) throw new GemmaError('LIMIT', `rendered prompt of ${out.length} characters is over ${max}`);
  return out;
}

/** Over the size limits: LIMIT, as for a rendered prompt that is too long; over time, steps or width: TEMPLATE. */
function budgetError(cause: TemplateBudgetExceeded): GemmaError {
  return new GemmaError(cause.kind === 'size' ? 'LIMIT' : 'TEMPLATE', `chat template failed: ${cause.message}`, { cause });
}

/** strftime for the few directives chat templates use (%d %m %Y %y %b %B %H %M %S %j %%). */
function strftimeNow(format: string): string {
  const d = new Date();
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return String(format).replace(/%([dmYybBHMSj%])/g, (_, c: string) => {
    switch (c) {
      case 'd': return p2(d.getDate());
      case 'm': return p2(d.getMonth() + 1);
      case 'Y': return String(d.getFullYear());
      case 'y': return p2(d.getFullYear() % 100);
      case 'b': return months[d.getMonth()]!.slice(0, 3);
      case 'B': return months[d.getMonth()]!;
      case 'H': return p2(d.getHours());
      case 'M': return p2(d.getMinutes());
      case 'S': return p2(d.getSeconds());
      case 'j': return String(Math.floor((d.getTime() - new Date(d.getFullYear(), 0, 0).getTime()) / 86400000)).padStart(3, '0');
      default: return '%';
    }
  });
}
