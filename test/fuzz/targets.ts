/**
 * Fuzz targets: what is done with one (possibly corrupt) input. Each goes through the
 * public entry points a user would call — loadModel on a GGUF or a HF-style file set, a
 * 2-token generation, the tokenizer loaders, chat rendering — and resolves with a short
 * note on success. Anything thrown is judged by the worker: GemmaError is a pass, the rest
 * is a finding.
 */
import { GemmaError } from '../../src/errors.js';
import type { FileSet } from '../../src/format/store.js';
import { loadModel } from '../../src/index.js';
import { BufferSource } from '../../src/io/source.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { type ChatMessage, GemmaTokenizer, renderChat, tokenizerFromFiles } from '../../src/tokenizer/index.js';
import { type CorpusEntry, companions, corpus } from './corpus.js';
import { generic, ggufMutation, jsonMutation, type Mutated, type Rng, safetensorsMutation, templateMutation, concat } from './mutate.js';

export const TARGETS = ['gguf', 'safetensors', 'config', 'tokenizer-json', 'tokenizer-model', 'tokenizer-config', 'template'] as const;
export type TargetName = (typeof TARGETS)[number];

/**
 * CPU-time bound of one case, ms (default 2000: a load + 2-token generation of a tiny model
 * takes ~10 ms). A template case renders twice, each under the 1 s template budget.
 */
export const CASE_MS: Partial<Record<TargetName, number>> = { template: 3000 };

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi there <start_of_turn>' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'What is 2+2? \u00e9\u{1F600}' },
];
/** content as parts (Gemma 3's template takes them; Gemma 1/2's raise on them, which is a TEMPLATE error) */
const MESSAGES_PARTS: ChatMessage[] = [...MESSAGES.slice(0, 3), { role: 'user', content: [{ type: 'text', text: 'What is 2+2?' }, { type: 'image' }] }];
const SAMPLE = 'Hello world, the quick brown fox. <start_of_turn>user\n\u00e9\u{1F600}\u0000';

function memFileSet(name: string, files: Record<string, Uint8Array>): FileSet {
  return {
    name,
    has: async (f) => Object.hasOwn(files, f),
    open: async (f) => {
      if (!Object.hasOwn(files, f)) throw new GemmaError('IO', `no ${f}`, { file: `${name}/${f}` });
      return new BufferSource(files[f]!, `${name}/${f}`);
    },
    list: async () => Object.keys(files),
  };
}

/** Encode, decode and stream-decode a sample with a tokenizer that loaded. */
function exercise(t: GemmaTokenizer): string {
  const ids = t.encode(SAMPLE, { addBos: true, allowSpecial: true });
  t.decode(ids);
  t.encode(SAMPLE, { allowSpecial: false });
  return `${ids.length} tokens`;
}

/** loadModel + a 2-token greedy generation + chat rendering, then dispose. */
async function loadAndGenerate(source: Parameters<typeof loadModel>[0]): Promise<string> {
  const model = await loadModel(source, { backend: new ReferenceBackend() });
  try {
    const prompt = model.tokenizer ? 'The cat' : [model.config.bosId >= 0 && model.config.bosId < model.config.vocabSize ? model.config.bosId : 0, 1 % model.config.vocabSize];
    const r = await model.generate(prompt, { maxTokens: 2, temperature: 0 });
    if (model.tokenizer) model.applyChatTemplate(MESSAGES);
    return `generated ${r.tokens.length}`;
  } finally {
    await model.dispose();
  }
}

export interface Target {
  name: TargetName;
  mutate(r: Rng, input: Uint8Array, others: Uint8Array[]): Mutated;
  run(bytes: Uint8Array, entry: number): Promise<string>;
}

/** Sometimes a second, generic mutation on top of the first. */
function stacked(first: (r: Rng, b: Uint8Array, o: Uint8Array[]) => Mutated, pStructured: number) {
  return (r: Rng, b: Uint8Array, o: Uint8Array[]): Mutated => {
    let m = r() < pStructured ? first(r, b, o) : generic(r, b, o);
    if (r() < 0.2) { const n = generic(r, m.bytes, o); m = { bytes: n.bytes, desc: `${m.desc}; ${n.desc}` }; }
    return m;
  };
}

/** tokenizer.model: protobuf fragments with lying lengths, wrong wire types and deep nesting. */
function protoMutation(r: Rng, b: Uint8Array): Mutated {
  const frags = [
    [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], [0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0x0a, 0x05, 0x0a, 0x7f],
    [0x12, 0x03, 0x18, 0xff, 0x01], [0x0a, 0x02, 0x0a, 0x00], [0x0a, 0x04, 0x1a, 0x02, 0x18, 0x07], [0x0d, 1, 2, 3, 4], [0x0b], [0x00],
    [0x12, 0x0b, 0xc0, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x1a, 0x02, 0x12, 0x00],
  ];
  const f = Uint8Array.from(frags[Math.floor(r() * frags.length)]!);
  const at = Math.floor(r() * (b.length + 1));
  return { bytes: concat(b.subarray(0, at), f, b.subarray(at)), desc: `proto fragment [${[...f].map((x) => x.toString(16)).join(' ')}] at ${at}` };
}

export async function targets(): Promise<Map<TargetName, Target>> {
  const c = await companions();
  const m = new Map<TargetName, Target>();
  m.set('gguf', {
    name: 'gguf', mutate: stacked(ggufMutation, 0.5),
    run: (bytes) => loadAndGenerate(new BufferSource(bytes, 'fuzz.gguf')),
  });
  m.set('safetensors', {
    name: 'safetensors', mutate: stacked(safetensorsMutation, 0.5),
    run: (bytes, e) => loadAndGenerate(memFileSet('fuzz-st', { 'config.json': c.config[e]!, 'model.safetensors': bytes, 'tokenizer.json': c.tokenizerJson })),
  });
  m.set('config', {
    name: 'config', mutate: stacked(jsonMutation, 0.8),
    run: (bytes, e) => loadAndGenerate(memFileSet('fuzz-cfg', { 'config.json': bytes, 'model.safetensors': c.safetensors[e]! })),
  });
  m.set('tokenizer-json', {
    name: 'tokenizer-json', mutate: stacked(jsonMutation, 0.7),
    run: async (bytes) => exercise(GemmaTokenizer.fromTokenizerJson(bytes)),
  });
  m.set('tokenizer-model', {
    name: 'tokenizer-model', mutate: stacked(protoMutation, 0.3),
    run: async (bytes) => exercise(GemmaTokenizer.fromSentencePieceModel(bytes)),
  });
  m.set('tokenizer-config', {
    name: 'tokenizer-config', mutate: stacked(jsonMutation, 0.8),
    run: async (bytes) => {
      const t = tokenizerFromFiles({ 'tokenizer.json': c.tokenizerJson, 'tokenizer_config.json': bytes });
      if (t.chatTemplate === undefined) return 'no template';
      const text = renderChat(MESSAGES, { template: t.chatTemplate, bosToken: t.bosToken, eosToken: t.eosToken, foldSystem: true });
      return exercise(t.tokenizer) + `, prompt ${text.length} chars`;
    },
  });
  m.set('template', {
    name: 'template', mutate: (r, b) => templateMutation(r, b),
    run: async (bytes) => {
      const template = new TextDecoder().decode(bytes);
      const text = renderChat(MESSAGES, { template, foldSystem: true });
      let parts = 'ok';
      try { renderChat(MESSAGES_PARTS.slice(1), { template, addGenerationPrompt: false }); } catch (e) { if (!(e instanceof GemmaError)) throw e; parts = e.code; }
      return `prompt ${text.length} chars, with parts: ${parts}`;
    },
  });
  return m;
}

export async function entriesOf(target: TargetName, includeOptional: boolean): Promise<CorpusEntry[]> {
  const all = (await corpus()).get(target)!;
  return includeOptional ? all : all.filter((e) => !e.optional);
}
