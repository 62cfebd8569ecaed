import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gemma, isGemmaError } from '../../src/index.js';
import { argmax, collect, logSoftmaxRef, tinyModel } from './fixtures.js';

let model: Gemma;
beforeAll(async () => { model = await tinyModel(); });
afterAll(async () => { await model.dispose(); });

/** greedy continuation computed from scratch: one full forward pass per step, argmax in the test */
async function greedyReference(m: Gemma, prompt: number[], n: number): Promise<number[]> {
  const ids = [...prompt], out: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = argmax(await m.logits(ids));
    out.push(id);
    ids.push(id);
  }
  return out;
}

describe('generate', () => {
  it('greedy output equals step-by-step argmax of model.logits (fresh forward each step)', async () => {
    const prompt = model.tokenize('The quick brown fox');
    const r = await model.generate(prompt, { temperature: 0, maxTokens: 12, ignoreEos: true });
    expect(r.finishReason).toBe('length');
    expect(r.tokens).toEqual(await greedyReference(model, prompt, 12));
    // with a penalty-free JS sampler path (logprobs forces downloading logits) the ids are the same
    const r2 = await model.generate(prompt, { temperature: 0, maxTokens: 12, ignoreEos: true, logprobs: 2 });
    expect(r2.tokens).toEqual(r.tokens);
  });

  it('streams text chunks whose concatenation is the decoded continuation', async () => {
    const prompt = 'In the beginning';
    const g = model.generate(prompt, { temperature: 0, maxTokens: 15, ignoreEos: true });
    const chunks = await collect(g);
    const r = await g.result;
    expect(chunks.join('')).toBe(r.text);
    const ids = model.tokenize(prompt);
    const full = model.detokenize([...ids, ...r.tokens], { skipSpecial: true });
    const head = model.detokenize(ids, { skipSpecial: true });
    expect(full.startsWith(head)).toBe(true);
    expect(r.text).toBe(full.slice(head.length));
    expect(r.usage).toMatchObject({ promptTokens: ids.length, completionTokens: 15, totalTokens: ids.length + 15 });
    expect(r.tokensPerSecond).toBeGreaterThan(0);
    expect(r.timings.prefillMs).toBeGreaterThan(0);
  });

  it('same seed gives the same sample; different seeds give different samples', async () => {
    const o = { temperature: 1, topK: 0, topP: 1, minP: 0, maxTokens: 16, ignoreEos: true };
    const a = await model.generate('Hello', { ...o, seed: 7 });
    const b = await model.generate('Hello', { ...o, seed: 7 });
    const c = await model.generate('Hello', { ...o, seed: 8 });
    expect(a.seed).toBe(7);
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    // the synthetic model's distribution is spread: sampling is not just argmax
    const greedy = await model.generate('Hello', { temperature: 0, maxTokens: 16, ignoreEos: true });
    expect(a.tokens).not.toEqual(greedy.tokens);
  });

  it('stops on a stop string without emitting it', async () => {
    const free = await model.generate('The cat sat', { temperature: 0, maxTokens: 30, ignoreEos: true });
    const t = free.text;
    expect(t.length).toBeGreaterThan(6);
    const stop = t.slice(Math.floor(t.length / 2), Math.floor(t.length / 2) + 2);
    const g = model.generate('The cat sat', { temperature: 0, maxTokens: 30, ignoreEos: true, stop: ['@@never@@', stop] });
    const chunks = await collect(g);
    const r = await g.result;
    expect(r.finishReason).toBe('stop');
    expect(r.stoppedBy).toEqual({ string: stop });
    expect(r.text).toBe(t.slice(0, t.indexOf(stop)));
    expect(chunks.join('')).toBe(r.text);
  });

  it('stops on the tokenizer stop ids (<eos>, <end_of_turn>) unless ignoreEos', async () => {
    const eot = model.tokenizer!.pieceToId('<end_of_turn>')!;
    // force the stop token: a stop id passed as the prompt's argmax target via stopTokens
    const free = await model.generate('Hello', { temperature: 0, maxTokens: 5, ignoreEos: true });
    const r = await model.generate('Hello', { temperature: 0, maxTokens: 5, ignoreEos: true, stopTokens: [free.tokens[2]!] });
    expect(r.finishReason).toBe('stop');
    expect(r.stoppedBy).toEqual({ token: free.tokens[2] });
    expect(r.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(free.tokens[2]!)));
    expect(model.tokenizer!.stopIds).toContain(eot);
  });

  it('logprobs are the log-softmax of the model logits at each position', async () => {
    const prompt = model.tokenize('To be');
    const r = await model.generate(prompt, { temperature: 0, maxTokens: 4, ignoreEos: true, logprobs: 3 });
    expect(r.logprobs).toHaveLength(4);
    const all = await model.logits([...prompt, ...r.tokens.slice(0, 3)], { allLogits: true });
    const V = model.config.vocabSize;
    for (let i = 0; i < 4; i++) {
      const row = logSoftmaxRef(all.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V));
      const e = r.logprobs![i]!;
      expect(e.id).toBe(r.tokens[i]);
      expect(e.logprob).toBeCloseTo(row[e.id]!, 5);
      const best = [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 3);
      expect(e.top.map((x) => x.id)).toEqual(best);
      e.top.forEach((x) => expect(x.logprob).toBeCloseTo(row[x.id]!, 5));
    }
  });

  it('rejects prompts longer than the context with CONTEXT_OVERFLOW, or truncates from the start on request', async () => {
    const long = Array.from({ length: 200 }, (_, i) => 10 + (i % 200));
    const err = await model.generate(long, { maxTokens: 2 }).result.catch((e) => e);
    expect(isGemmaError(err, 'CONTEXT_OVERFLOW')).toBe(true);
    const r = await model.generate([2, ...long], { temperature: 0, maxTokens: 3, ignoreEos: true, truncate: 'start' });
    const kept = [2, ...long.slice(long.length - 124)]; // room for the 3 new tokens
    expect(r.usage.promptTokens).toBe(125);
    expect(r.tokens).toEqual(await greedyReference(model, kept, 3));
    // the model still works
    const ok = await model.generate('Hi', { temperature: 0, maxTokens: 2, ignoreEos: true });
    expect(ok.tokens).toHaveLength(2);
  });

  it('ends with finishReason length when the context is full', async () => {
    const m = await tinyModel({ contextLength: 12 });
    const r = await m.generate([2, 50, 60, 70], { temperature: 0, maxTokens: 100, ignoreEos: true });
    expect(r.finishReason).toBe('length');
    expect(r.tokens.length).toBe(12 - 4 + 1); // every cache slot used, plus the last (unevaluated) token
    await m.dispose();
  });

  it('rejects bad arguments with GemmaError', async () => {
    for (const o of [{ temperature: -1 }, { topP: 0 }, { topK: 1.5 }, { maxTokens: -2 }, { logprobs: 99 }]) {
      const e = await model.generate('x', o).result.catch((x) => x);
      expect(isGemmaError(e, 'BAD_ARGUMENT')).toBe(true);
    }
    const e = await model.generate([999999]).result.catch((x) => x);
    expect(isGemmaError(e, 'BAD_ARGUMENT')).toBe(true);
  });
});

describe('abort and concurrency', () => {
  it('an aborted generation ends with finishReason abort and leaves the model usable', async () => {
    const fresh = await tinyModel();
    const expected = await fresh.generate('Once upon', { temperature: 0, maxTokens: 10, ignoreEos: true });
    await fresh.dispose();

    const ac = new AbortController();
    const g = model.generate('Some other prompt entirely', { temperature: 0, maxTokens: 100, ignoreEos: true, signal: ac.signal });
    let n = 0;
    for await (const _ of g) { if (++n === 3) ac.abort(); }
    const r = await g.result;
    expect(r.finishReason).toBe('abort');
    expect(r.tokens.length).toBeGreaterThanOrEqual(3);
    expect(r.tokens.length).toBeLessThan(100);
    const after = await model.generate('Once upon', { temperature: 0, maxTokens: 10, ignoreEos: true });
    expect(after.tokens).toEqual(expected.tokens);

    // leaving the loop early aborts too
    const g2 = model.generate('Once upon', { temperature: 0, maxTokens: 100, ignoreEos: true });
    for await (const _ of g2) break;
    expect((await g2.result).finishReason).toBe('abort');
    // aborted before it starts (signal already aborted)
    const pre = AbortSignal.abort();
    expect((await model.generate('x', { signal: pre }).result).finishReason).toBe('abort');
    expect((await model.generate('Once upon', { temperature: 0, maxTokens: 10, ignoreEos: true })).tokens).toEqual(expected.tokens);
  });

  it('concurrent generate calls are queued: each output equals its output alone', async () => {
    const fresh = await tinyModel();
    const aloneA = await fresh.generate('Alpha beta', { temperature: 0, maxTokens: 12, ignoreEos: true });
    const aloneB = await fresh.generate('The dog ran in the park', { temperature: 0, maxTokens: 12, ignoreEos: true });
    const aloneC = await fresh.generate('Gamma', { seed: 5, temperature: 1, topK: 0, topP: 1, minP: 0, maxTokens: 12, ignoreEos: true });
    await fresh.dispose();

    const ga = model.generate('Alpha beta', { temperature: 0, maxTokens: 12, ignoreEos: true });
    const gb = model.generate('The dog ran in the park', { temperature: 0, maxTokens: 12, ignoreEos: true });
    const gc = model.generate('Gamma', { seed: 5, temperature: 1, topK: 0, topP: 1, minP: 0, maxTokens: 12, ignoreEos: true });
    expect(model.pending).toBe(3);
    const order: string[] = [];
    const [a, b, c] = await Promise.all([
      ga.result.then((r) => { order.push('a'); return r; }),
      gb.result.then((r) => { order.push('b'); return r; }),
      gc.result.then((r) => { order.push('c'); return r; }),
    ]);
    expect(a.tokens).toEqual(aloneA.tokens);
    expect(b.tokens).toEqual(aloneB.tokens);
    expect(c.tokens).toEqual(aloneC.tokens);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(b.timings.queuedMs).toBeGreaterThan(0);
  });

  it('with maxQueue the extra caller is rejected with BUSY', async () => {
    const m = await tinyModel({ maxQueue: 0 });
    const first = m.generate('Hello', { temperature: 0, maxTokens: 8, ignoreEos: true });
    const second = await m.generate('Hello', { maxTokens: 2 }).result.catch((e) => e);
    expect(isGemmaError(second, 'BUSY')).toBe(true);
    expect((await first).tokens).toHaveLength(8);
    expect((await m.generate('Hello', { temperature: 0, maxTokens: 2, ignoreEos: true })).tokens).toHaveLength(2);
    await m.dispose();
  });

  it('an abort while queued resolves at once without running', async () => {
    const ac = new AbortController();
    const first = model.generate('Hello', { temperature: 0, maxTokens: 40, ignoreEos: true });
    const second = model.generate('Hello', { temperature: 0, maxTokens: 40, ignoreEos: true, signal: ac.signal });
    ac.abort();
    const r2 = await second.result;
    expect(r2.finishReason).toBe('abort');
    expect(r2.tokens).toEqual([]);
    expect((await first).tokens).toHaveLength(40);
  });
});

describe('lower-level calls', () => {
  it('logits, onLayer hooks, tokenize/detokenize', async () => {
    const ids = model.tokenize('The cat sat on the mat.');
    expect(ids[0]).toBe(model.tokenizer!.bosId);
    expect(model.detokenize(ids, { skipSpecial: true })).toBe('The cat sat on the mat.');
    const seen: [number, number, number][] = [];
    const off = model.onLayer((l, h, rows) => { seen.push([l, rows, h.length]); });
    const logits = await model.logits(ids);
    off();
    expect(logits.length).toBe(model.config.vocabSize);
    expect(seen.map((s) => s[0])).toEqual([...Array(model.config.numLayers).keys()]);
    for (const s of seen) expect(s[2]).toBe(s[1] * model.config.hiddenSize);
    // hooks also see generation, and do not change its result
    let calls = 0;
    const off2 = model.onLayer(() => { calls++; });
    const withHook = await model.generate(ids, { temperature: 0, maxTokens: 3, ignoreEos: true });
    off2();
    const without = await model.generate(ids, { temperature: 0, maxTokens: 3, ignoreEos: true });
    expect(withHook.tokens).toEqual(without.tokens);
    expect(calls).toBeGreaterThan(0);
  });

  it('throws after dispose', async () => {
    const m = await tinyModel();
    await m.dispose();
    expect(() => m.generate('x')).toThrow(/disposed/);
  });
});
