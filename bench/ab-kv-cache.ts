/**
 * Decode at a long context with an f32 and an f16 KV cache (WasmBackendOptions.kvCache): one
 * model, two caches prefilled with the same prompt, decode blocks alternated so that this shared
 * machine's drift hits both alike; best block of each.
 *
 *   npx tsx bench/ab-kv-cache.ts FILE.gguf [--threads 2] [--prompt 2000] [--rounds 4] [--steps 12]
 */
import { benchPrompt } from '../src/cli/commands/bench.js';
import { createWasmBackend } from '../src/kernels/wasm/backend.js';
import { loadPath } from '../src/node.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); if (i < 0) return d; const v = args[i + 1]!; args.splice(i, 2); return v; };
const threads = Number(opt('threads', '2')), promptN = Number(opt('prompt', '2000'));
const rounds = Number(opt('rounds', '4')), steps = Number(opt('steps', '12'));
const file = args[0];
if (!file) throw new Error('usage: ab-kv-cache.ts FILE.gguf [--threads 2] [--prompt 2000] [--rounds 4] [--steps 12]');

const be = await createWasmBackend({ threads });
const ctx = promptN + 2 * rounds * steps + 8;
const { model } = await loadPath(file, { backend: be, noTokenizer: true, contextLength: ctx, prefillChunk: 256 });
const prompt = benchPrompt(model.config.vocabSize, promptN);
const types = ['f32', 'f16'] as const;
const caches = new Map<string, ReturnType<typeof model.newCache>>(), ids = new Map<string, number>();
for (const t of types) {
  be.setKvCache(t); // applies to the layers created from now on
  const c = model.newCache(ctx);
  caches.set(t, c);
  const t0 = performance.now();
  ids.set(t, await model.nextGreedy(prompt, c));
  console.log(`${t} cache: prefill of ${promptN} tokens ${((promptN * 1000) / (performance.now() - t0)).toFixed(1)} tok/s, first token ${ids.get(t)}`);
}
const best = new Map<string, number>(types.map((t) => [t, Infinity]));
for (let r = 0; r < rounds; r++) {
  for (const t of r % 2 ? [...types].reverse() : types) {
    const c = caches.get(t)!;
    let id = ids.get(t)!;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) id = await model.nextGreedy([id], c);
    best.set(t, Math.min(best.get(t)!, (performance.now() - t0) / steps));
    ids.set(t, id);
  }
}
const a = best.get('f32')!, b = best.get('f16')!;
console.log(`${file}, ${be.info.threads} thread(s), decode after ${promptN} tokens: f32 cache ${a.toFixed(2)} ms, f16 cache ${b.toFixed(2)} ms a token: f16 ${(a / b).toFixed(3)}x`);
process.exit(0);
