/**
 * Generation under stress, on one model (tiny Gemma 3, reference backend): 24 rounds of
 * concurrent plain generations (greedy and sampled), chat sessions running side by side,
 * aborts at random points (by signal, by token count, by leaving the loop, while queued),
 * prompts that overflow the context, and a disposed session per round. Afterwards:
 *   - the model's greedy output for a fixed prompt is the one it gave before the soak, and
 *     the one a freshly loaded model gives (plain generation and a chat session turn);
 *   - memory (heapUsed + external, after GC) is back within 10 % of its level after warm-up.
 * Everything random comes from one seed.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { GemmaError } from '../../src/errors.js';
import { ggufToBuffer } from '../../src/format/gguf.js';
import { type Gemma, loadModel } from '../../src/index.js';
import { getPreset } from '../../src/model/config.js';
import { synthGguf } from '../../src/model/synth.js';
import { builtinChatTemplate } from '../../src/model/synth-extras.js';
import { mulberry32 } from '../../src/util/rng.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memory(): { heap: number; external: number; total: number } {
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, total: m.heapUsed + m.external };
}

const WORDS = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'model', 'reads', 'tokens', 'and', 'writes', 'text', 'quick', 'brown', 'fox', '(a + b)', '{x: [1, 2]}', 'é', '<start_of_turn>'];
const PROBE = 'The quick brown fox jumps over the lazy dog. The cat';
const CHAT_PROBE = 'Tell me about the model.';

type Rng = () => number;
const int = (r: Rng, n: number) => Math.floor(r() * n);
const sentence = (r: Rng) => Array.from({ length: 1 + int(r, 12) }, () => WORDS[int(r, WORDS.length)]).join(' ');

async function greedy(m: Gemma): Promise<number[]> {
  return (await m.generate(PROBE, { maxTokens: 24, temperature: 0, ignoreEos: true })).tokens;
}

async function chatTurn(m: Gemma): Promise<number[]> {
  const s = m.createChatSession({ system: 'Be brief.' });
  try {
    await s.send('Hello there', { maxTokens: 6, temperature: 0 });
    return (await s.send(CHAT_PROBE, { maxTokens: 12, temperature: 0, ignoreEos: true })).tokens;
  } finally {
    s.dispose();
  }
}

/** A GemmaError is fine (context overflow, abort while busy...); anything else fails the soak. */
async function settle<T>(p: PromiseLike<T>, tally: Map<string, number>): Promise<void> {
  try {
    const r = await p as { finishReason?: string };
    const k = r?.finishReason ?? 'done';
    tally.set(k, (tally.get(k) ?? 0) + 1);
  } catch (e) {
    if (!(e instanceof GemmaError)) throw e;
    tally.set(e.code, (tally.get(e.code) ?? 0) + 1);
  }
}

/** One round: plain generations and chat sessions all started at once on the same model. */
async function round(m: Gemma, r: Rng, tally: Map<string, number>): Promise<void> {
  const work: Promise<void>[] = [];
  for (let k = 0; k < 6; k++) {
    const kind = int(r, 7);
    const prompt = sentence(r);
    const maxTokens = 1 + int(r, 10);
    const sampled = r() < 0.4 ? { temperature: 0.9, topK: 20, seed: int(r, 1e6) } : { temperature: 0 };
    if (kind === 0) {
      // aborted by its signal after a random delay
      const ac = new AbortController();
      setTimeout(() => ac.abort(), int(r, 15));
      work.push(settle(m.generate(prompt, { maxTokens: 40, ignoreEos: true, signal: ac.signal, ...sampled }), tally));
    } else if (kind === 1) {
      // aborted at the n-th token
      const ac = new AbortController();
      const at = 1 + int(r, 5);
      let n = 0;
      work.push(settle(m.generate(prompt, { maxTokens: 40, ignoreEos: true, signal: ac.signal, onToken: () => { if (++n === at) ac.abort(); }, ...sampled }), tally));
    } else if (kind === 2) {
      // the consumer leaves the loop after the first chunk
      work.push((async () => {
        const g = m.generate(prompt, { maxTokens: 40, ignoreEos: true, ...sampled });
        for await (const _ of g) break;
        await settle(g, tally);
      })());
    } else if (kind === 3) {
      // aborted while still waiting in the queue
      const ac = new AbortController();
      const g = m.generate(prompt, { maxTokens: 8, signal: ac.signal, ...sampled });
      ac.abort();
      work.push(settle(g, tally));
    } else if (kind === 4) {
      // longer than the context: CONTEXT_OVERFLOW, or cut with truncate: 'start'
      const long = Array.from({ length: 60 }, () => sentence(r)).join(' ');
      work.push(settle(m.generate(long, { maxTokens: 4, truncate: r() < 0.5 ? 'start' : 'error', ...sampled }), tally));
    } else {
      work.push(settle(m.generate(prompt, { maxTokens, ...sampled }), tally));
    }
  }
  for (let s = 0; s < 3; s++) {
    work.push((async () => {
      const session = m.createChatSession(r() < 0.5 ? { system: sentence(r) } : {});
      try {
        for (let t = 0; t < 1 + int(r, 3); t++) {
          const ac = new AbortController();
          const abortAt = r() < 0.3 ? 1 + int(r, 4) : -1;
          let n = 0;
          await settle(session.send(sentence(r), { maxTokens: 1 + int(r, 8), temperature: 0, signal: ac.signal, onToken: () => { if (++n === abortAt) ac.abort(); } }), tally);
        }
      } finally {
        session.dispose();
      }
    })());
  }
  await Promise.all(work);
}

describe('soak: many short, aborted and concurrent generations on one model', () => {
  it('leaves the model producing what a fresh one does, and memory where it started', async () => {
    const bytes = await ggufToBuffer(synthGguf(getPreset('tiny-gemma-3'), { seed: 11, dtype: 'f32', embedStd: 0.1 }, 'soak', builtinChatTemplate(3)));
    const opts = { backend: 'reference' as const, contextLength: 160 };
    const model = await loadModel(bytes.slice(), opts);
    const r = mulberry32(20250601);
    const tally = new Map<string, number>();
    const before = await greedy(model);
    const chatBefore = await chatTurn(model);
    // warm-up: JIT, the template and pair caches, the queue's first allocations
    for (let i = 0; i < 3; i++) await round(model, r, tally);
    const m0 = memory();
    const t0 = performance.now();
    const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 24);
    const samples: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await round(model, r, tally);
      if (i % 10 === 9) samples.push(memory().total);
    }
    const soakMs = performance.now() - t0;
    const m1 = memory();
    const after = await greedy(model);
    const chatAfter = await chatTurn(model);

    const fresh = await loadModel(bytes.slice(), opts);
    const freshOut = await greedy(fresh);
    const chatFresh = await chatTurn(fresh);
    await fresh.dispose();
    await model.dispose();

    const mb = (b: number) => (b / 2 ** 20).toFixed(2);
    console.log(`soak: ${ROUNDS} rounds in ${(soakMs / 1000).toFixed(1)} s; outcomes ${JSON.stringify(Object.fromEntries(tally))}`);
    console.log(`soak: memory after warm-up ${mb(m0.total)} MB (heap ${mb(m0.heap)} + external ${mb(m0.external)}), after the soak ${mb(m1.total)} MB (heap ${mb(m1.heap)} + external ${mb(m1.external)}); every 10 rounds ${samples.map(mb).join(', ')} MB`);

    expect(after).toEqual(before);
    expect(after).toEqual(freshOut);
    expect(chatAfter).toEqual(chatBefore);
    expect(chatAfter).toEqual(chatFresh);
    expect(after.length).toBe(24);
    // the stress really happened: aborts, overflows and completed generations all occurred
    expect(tally.get('abort') ?? 0).toBeGreaterThan(20);
    expect(tally.get('CONTEXT_OVERFLOW') ?? 0).toBeGreaterThan(0);
    expect((tally.get('length') ?? 0) + (tally.get('stop') ?? 0)).toBeGreaterThan(100);
    expect(Math.abs(m1.total - m0.total) / m0.total).toBeLessThan(0.10);
  }, 300_000); // ~20 s on an idle 2-core machine; CI shares the cores with the fuzz workers
});
