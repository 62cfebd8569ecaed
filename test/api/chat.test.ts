import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gemma, renderChat, BUILTIN_CHAT_TEMPLATES, isGemmaError, type ChatMessage } from '../../src/index.js';
import type { GenerateResult } from '../../src/index.js';
import { collect, logSoftmaxRef, tinyModel } from './fixtures.js';

let model: Gemma;      // the one under test (KV re-use)
let scratch: Gemma;    // a separate instance for from-scratch logits
let embedded = 0;      // tokens run through the model under test (counted at the embedding op)
const kvCapacities: number[] = [];

beforeAll(async () => {
  // prefill chunk 4: sliding layers keep window 16 + 4 - 1 = 19 slots, so conversations cross the ring
  model = await tinyModel({ prefillChunk: 4 });
  scratch = await tinyModel({ prefillChunk: 4 });
  const b = model.engine.backend;
  const embed = b.embed.bind(b), kv = b.createKvLayer.bind(b);
  b.embed = (out, table, tokens, scale) => { embedded += tokens.length; embed(out, table, tokens, scale); };
  b.createKvLayer = (cap, dim) => { kvCapacities.push(cap); return kv(cap, dim); };
});
afterAll(async () => { await model.dispose(); await scratch.dispose(); });

function render(messages: ChatMessage[]): string {
  return renderChat(messages, { template: BUILTIN_CHAT_TEMPLATES[3], bosToken: '<bos>', eosToken: '<eos>' });
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** every generated token's log-probs equal those of a from-scratch forward pass over the same ids */
async function expectSameAsScratch(promptIds: readonly number[], r: GenerateResult): Promise<void> {
  const ids = [...promptIds, ...r.tokens.slice(0, -1)];
  const all = await scratch.logits(ids, { allLogits: true });
  const V = scratch.config.vocabSize;
  expect(r.logprobs!.length).toBe(r.tokens.length);
  r.logprobs!.forEach((e, i) => {
    const row = logSoftmaxRef(all.subarray((promptIds.length - 1 + i) * V, (promptIds.length + i) * V));
    expect(e.logprob).toBeCloseTo(row[e.id]!, 4);
    for (const t of e.top) expect(t.logprob).toBeCloseTo(row[t.id]!, 4);
  });
}

const greedy = { temperature: 0, maxTokens: 6, logprobs: 3 } as const;

describe('ChatSession', () => {
  it('re-uses the KV cache across turns: turn 2 evaluates only the new tokens, with from-scratch logits', async () => {
    const s = model.createChatSession({ system: 'You are terse.' });
    const u1 = 'Hello there, how are you?';
    const r1 = await s.send(u1, greedy);
    const ids1 = model.tokenize(render([{ role: 'system', content: 'You are terse.' }, { role: 'user', content: u1 }]), { addBos: false });
    expect(r1.usage.promptTokens).toBe(ids1.length);
    await expectSameAsScratch(ids1, r1);
    const after1 = s.contextTokens;
    expect(after1.slice(0, ids1.length)).toEqual(ids1);
    expect(s.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(s.messages[2]!.content).toBe(r1.text);

    const u2 = 'Tell me about the park.';
    const before = embedded;
    const r2 = await s.send(u2, greedy);
    const used = embedded - before;
    const after2 = s.contextTokens;
    const ids2 = after2.slice(0, r2.usage.promptTokens);
    // the ids are the conversation: they decode to the rendered template text (where the template
    // trims the reply, the ids keep the reply as generated)
    const text2 = render([{ role: 'system', content: 'You are terse.' }, { role: 'user', content: u1 }, { role: 'assistant', content: r1.text }, { role: 'user', content: u2 }]);
    expect(model.detokenize(ids2).replace(r1.text, r1.text.trim())).toBe(text2);
    // only the part after the cached prefix went through the model (plus the decode steps)
    const reused = commonPrefix(after1, ids2);
    expect(reused).toBeGreaterThanOrEqual(ids1.length);
    expect(r2.usage.cachedTokens).toBe(reused);
    const steps = after2.length - ids2.length;
    expect(used - steps).toBe(ids2.length - reused);
    expect(ids2.length - reused).toBeLessThan(ids2.length / 2);
    await expectSameAsScratch(ids2, r2);
    s.dispose();
  });

  it('keeps sliding-window layers in a ring buffer and stays exact across it, turn after turn', async () => {
    kvCapacities.length = 0;
    const s = model.createChatSession();
    expect(s.cachedTokens).toBe(0);
    const turns = ['The quick brown fox jumps over the lazy dog.', 'She sells sea shells by the sea shore.', 'To be, or not to be.'];
    for (const [i, u] of turns.entries()) {
      const r = await s.send(u, greedy);
      if (i > 0) expect(r.usage.cachedTokens).toBeGreaterThan(19);
      const ids = s.contextTokens.slice(0, r.usage.promptTokens);
      await expectSameAsScratch(ids, r);
    }
    expect(s.cachedTokens).toBeGreaterThan(19 + 20);
    const cfg = model.config;
    expect(kvCapacities).toEqual(cfg.layerTypes.map((t) => (t === 'sliding' ? 16 + 4 - 1 : model.contextLength)));
    s.dispose();
  });

  it('model.chat gives the same reply as a session turn; reset and setSystem change the prompt', async () => {
    const msgs: ChatMessage[] = [{ role: 'user', content: 'What is Gemma?' }];
    const one = await model.chat(msgs, { temperature: 0, maxTokens: 6 });
    const s = model.createChatSession();
    const t = await s.send('What is Gemma?', { temperature: 0, maxTokens: 6 });
    expect(t.tokens).toEqual(one.tokens);
    s.reset();
    expect(s.messages).toEqual([]);
    s.setSystem('Be brief.');
    expect(s.prompt()).toBe(render([{ role: 'system', content: 'Be brief.' }]).replace(/<start_of_turn>model\n$/, '') + '<start_of_turn>model\n');
    const r = await s.send('What is Gemma?', { temperature: 0, maxTokens: 6, logprobs: 1 });
    const ids = model.tokenize(render([{ role: 'system', content: 'Be brief.' }, ...msgs]), { addBos: false });
    expect(r.usage.promptTokens).toBe(ids.length);
    s.dispose();
  });

  it('an aborted turn is not recorded and the session continues', async () => {
    const s = model.createChatSession();
    const ac = new AbortController();
    const g = s.send('Hello', { temperature: 0, maxTokens: 50, ignoreEos: true, signal: ac.signal });
    for await (const _ of g) { ac.abort(); }
    expect((await g.result).finishReason).toBe('abort');
    expect(s.messages).toEqual([]);
    const r = await s.send('Hello', greedy);
    const ids = model.tokenize(render([{ role: 'user', content: 'Hello' }]), { addBos: false });
    await expectSameAsScratch(ids, r);
    s.dispose();
  });

  it('rejects a conversation longer than the context', async () => {
    const m = await tinyModel({ contextLength: 32 });
    const s = m.createChatSession();
    const e = await s.send('word '.repeat(60)).result.catch((x) => x);
    expect(isGemmaError(e, 'CONTEXT_OVERFLOW')).toBe(true);
    expect(s.messages).toEqual([]);
    await m.dispose();
  });
});

describe('OpenAI-shaped calls', () => {
  it('chat.completions.create returns the chat.completion shape', async () => {
    const req = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 2 };
    const r = await model.chat.completions.create(req);
    expect(r.object).toBe('chat.completion');
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(typeof r.created).toBe('number');
    expect(r.model).toBe(model.name);
    expect(r.choices).toHaveLength(1);
    const c = r.choices[0]!;
    expect(c.index).toBe(0);
    expect(c.message.role).toBe('assistant');
    expect(['stop', 'length']).toContain(c.finish_reason);
    expect(r.usage.total_tokens).toBe(r.usage.prompt_tokens + r.usage.completion_tokens);
    const direct = await model.chat([{ role: 'user', content: 'Hi' }], { temperature: 0, maxTokens: 5 });
    expect(c.message.content).toBe(direct.text);
    expect(c.logprobs!.content).toHaveLength(r.usage.completion_tokens);
    expect(c.logprobs!.content[0]!.top_logprobs).toHaveLength(2);
  });

  it('stream: true yields chat.completion.chunk objects whose deltas join to the full reply', async () => {
    const req = { messages: [{ role: 'user' as const, content: 'Tell a story' }], max_tokens: 12, seed: 3, temperature: 1 };
    const full = await model.chat.completions.create(req);
    const chunks = [];
    for await (const ch of await model.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } })) chunks.push(ch);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    for (const ch of chunks) { expect(ch.object).toBe('chat.completion.chunk'); expect(ch.id).toBe(chunks[0]!.id); }
    const fin = chunks[chunks.length - 2]!;
    expect(fin.choices[0]!.finish_reason).toBe(full.choices[0]!.finish_reason);
    const usage = chunks[chunks.length - 1]!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage!.completion_tokens).toBe(full.usage.completion_tokens);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(full.choices[0]!.message.content);
  });

  it('completions.create continues a raw prompt; bad requests are BAD_ARGUMENT', async () => {
    const r = await model.completions.create({ prompt: 'Once upon a time', max_tokens: 4, temperature: 0 });
    expect(r.object).toBe('text_completion');
    const direct = await model.generate('Once upon a time', { temperature: 0, maxTokens: 4 });
    expect(r.choices[0]!.text).toBe(direct.text);
    const parts = await collect((async function* () {
      for await (const c of await model.completions.create({ prompt: 'Once upon a time', max_tokens: 4, temperature: 0, stream: true })) yield c.choices[0]!.text;
    })());
    expect(parts.join('')).toBe(direct.text);
    for (const bad of [{ messages: [] }, { messages: [{ role: 'wizard', content: 'x' }] }, { messages: [{ role: 'user', content: 'x' }], n: 2 }, { messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }]) {
      const e = await model.chat.completions.create(bad as never).catch((x) => x);
      expect(isGemmaError(e, 'BAD_ARGUMENT')).toBe(true);
    }
    const ac = new AbortController();
    ac.abort();
    const e = await model.chat.completions.create({ messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal }).catch((x) => x);
    expect(isGemmaError(e, 'ABORTED')).toBe(true);
  });
});
