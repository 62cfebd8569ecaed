/**
 * Correctness before timing: the hand-built ONNX graph (run by onnxruntime-node on the CPU,
 * the runtime transformers.js brings for Node) against gemma-ts's reference backend on the
 * same tokens and the same weights.
 *
 *   npx tsx bench/webgpu-compare/check.ts MODEL_DIR [--tokens 48]
 *
 * (For the fused graph, whose GroupQueryAttention counts positions from 0 itself and has no
 * position_ids input, runs 1 and 3 are the same computation.)
 *
 * Three ONNX runs, each compared as log-softmax over every position with the reference:
 *   1. the whole sequence in one call (empty cache), positions 0..n-1
 *   2. a prompt of n/2 tokens, then one token per call feeding present.* back as
 *      past_key_values.* (the path generation takes), positions 0..n-1
 *   3. like 1 with positions 1..n (what transformers.js feeds gemma3: RoPE depends only on
 *      position differences, so this may differ by rounding only)
 * The sequence is longer than the demo window (32), so sliding layers are exercised.
 * Passes when every max |Δ log-softmax| <= 1e-3.
 */
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { loadModel } from '../../src/index.js';
import { logSoftmaxRows, maxAbsDiff } from './util.js';

const i64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);

interface Cfg { num_hidden_layers: number; num_key_value_heads: number; head_dim: number; vocab_size: number }

async function runOnnx(s: ort.InferenceSession, cfg: Cfg, ids: number[], split: number, posBase: number): Promise<Float32Array> {
  const V = cfg.vocab_size;
  const out = new Float32Array(ids.length * V);
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, cfg.num_key_value_heads, 0, cfg.head_dim]);
  }
  let done = 0;
  const steps = [split, ...Array(ids.length - split).fill(1)];
  for (const n of steps) {
    const chunk = ids.slice(done, done + n);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(chunk, [1, n]),
      attention_mask: i64(Array(done + n).fill(1), [1, done + n]),
      position_ids: i64(chunk.map((_, i) => posBase + done + i), [1, n]),
      ...past,
    };
    for (const k of Object.keys(feeds)) if (!s.inputNames.includes(k)) delete feeds[k]; // the fused graph has no position_ids
    const r = await s.run(feeds);
    out.set(r.logits!.data as Float32Array, done * V);
    past = {};
    for (const k of Object.keys(r)) if (k.startsWith('present.')) past[k.replace('present.', 'past_key_values.')] = r[k]!;
    done += n;
  }
  return out;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: check.ts MODEL_DIR [--tokens N]');
  const ti = process.argv.indexOf('--tokens');
  const n = ti > 0 ? Number(process.argv[ti + 1]) : 48;
  const cfg = JSON.parse(await (await import('node:fs/promises')).readFile(join(dir, 'config.json'), 'utf8')) as Cfg;
  // seeded token ids (bos first), not from either engine
  let x = 12345;
  const ids = [2, ...Array.from({ length: n - 1 }, () => { x = (x * 1103515245 + 12345) >>> 0; return 3 + (x % (cfg.vocab_size - 3)); })];

  const ref = await loadModel(dir, { backend: 'reference', contextLength: 512 });
  const want = logSoftmaxRows(await ref.logits(ids, { allLogits: true }), cfg.vocab_size);
  await ref.dispose();

  const s = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'), { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  const runs: [string, number, number][] = [['one call, positions 0..n-1', n, 0], [`prompt ${n >> 1} + ${n - (n >> 1)} cached steps, positions 0..n-1`, n >> 1, 0], ['one call, positions 1..n (transformers.js gemma3)', n, 1]];
  let worst = 0;
  for (const [what, split, base] of runs) {
    const got = logSoftmaxRows(await runOnnx(s, cfg, ids, split, base), cfg.vocab_size);
    const d = maxAbsDiff(got, want);
    worst = Math.max(worst, d);
    console.log(`${dir}: ${n} tokens, ${what}: max |Δ log-softmax| = ${d.toExponential(2)}`);
  }
  console.log(worst <= 1e-3 ? 'PASS (<= 1e-3)' : 'FAIL (> 1e-3)');
  process.exitCode = worst <= 1e-3 ? 0 : 1;
}

main().catch((e) => { console.error(e); process.exit(1); });
