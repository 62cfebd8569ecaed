/**
 * Decode weight bandwidth as a share of the machine's read bandwidth, measured side by side:
 * the read probe (WasmBackend.measureReadBandwidth) and a block of greedy decode steps
 * alternate in one process, `--rounds` times, so a slow minute of this shared VM hits both.
 * Prints each pair and the best of each. The weight bytes are those of all matrices (the tied
 * output head once), as `gemma-ts bench` and compare-llama.ts count them.
 *
 *   npx tsx bench/decode-share.ts FILE.gguf [--threads 2] [--rounds 6] [--gen 48]
 */
import { benchPrompt, decodeWeightBytes } from '../src/cli/commands/bench.js';
import { createWasmBackend } from '../src/kernels/wasm/backend.js';
import { loadPath } from '../src/node.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); if (i < 0) return d; const v = args[i + 1]!; args.splice(i, 2); return v; };
const threads = Number(opt('threads', '2')), rounds = Number(opt('rounds', '6')), gen = Number(opt('gen', '48'));
const path = args[0];
if (!path) throw new Error('usage: decode-share.ts FILE.gguf [--threads 2] [--rounds 6] [--gen 48]');

const be = await createWasmBackend({ threads });
const loaded = await loadPath(path, { backend: be, noTokenizer: true, contextLength: 16 + 4 + gen + 8 });
const model = loaded.model;
const bytes = decodeWeightBytes(model);
let bestProbe = 0, bestDecode = 0;
for (let r = 0; r < rounds; r++) {
  const probe = be.measureReadBandwidth(512, 3);
  const cache = model.newCache(16 + 4 + gen + 8);
  let id = await model.nextGreedy(benchPrompt(model.config.vocabSize, 16), cache);
  for (let i = 0; i < 4; i++) id = await model.nextGreedy([id], cache); // untimed
  const t0 = performance.now();
  for (let i = 0; i < gen; i++) id = await model.nextGreedy([id], cache);
  const ms = (performance.now() - t0) / gen;
  cache.dispose();
  const gbs = bytes / ms / 1e6;
  bestProbe = Math.max(bestProbe, probe); bestDecode = Math.max(bestDecode, gbs);
  console.log(`probe ${probe.toFixed(1)} GB/s   decode ${ms.toFixed(2)} ms/token = ${gbs.toFixed(1)} GB/s (${((100 * gbs) / probe).toFixed(0)} % of this round's probe)`);
}
console.log(`${threads} thread(s): best probe ${bestProbe.toFixed(1)} GB/s, best decode ${bestDecode.toFixed(1)} GB/s = ${((100 * bestDecode) / bestProbe).toFixed(0)} %`);
model.dispose();
await loaded.close();
process.exit(0);
