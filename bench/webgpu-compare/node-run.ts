/**
 * The same comparison in Node on Mesa's lavapipe Vulkan driver (a second CPU Vulkan
 * adapter): gemma-ts's WebGPU backend on Dawn (npm package `webgpu`) vs transformers.js in
 * Node, whose device 'webgpu' is onnxruntime-node's native WebGPU execution provider (the same
 * WGSL kernels as onnxruntime-web, compiled in C++ with its own Dawn). Both processes get
 * VK_ICD_FILENAMES=lvp_icd.json, so both see only lavapipe.
 *
 *   npx tsx bench/webgpu-compare/node-run.ts [--model demo-fused] [--n 64] [--prompt 16] [--rounds 3]
 *
 * Each engine runs in its own child process (one Dawn per process); rounds alternate the
 * engines; each child loads the model, runs an 8-token warm-up, then one timed run (decode
 * timed per token as in page.ts: (n - 1) / (last token - first token)).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag } from './util.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const MODELS = join(ROOT, '.cache', 'webgpu-compare');
const LVP = '/usr/share/vulkan/icd.d/lvp_icd.json';

interface Run { engine: string; adapter: string; tokens: number[]; prefillMs: number; decodeTokPerS: number; warmupTokPerS: number }

// ---------------------------------------------------------------- child: one engine
async function child(engine: string, model: string, prompt: number[], n: number): Promise<Run> {
  const now = () => performance.now();
  const time = async (gen: (onToken: () => void) => Promise<number[]>) => {
    const stamps: number[] = [];
    const t0 = now();
    const tokens = await gen(() => { stamps.push(now()); });
    if (stamps.length !== tokens.length) throw new Error(`${stamps.length} stamps for ${tokens.length} tokens`);
    return { tokens, prefillMs: stamps[0]! - t0, decodeTokPerS: (stamps.length - 1) / ((stamps[stamps.length - 1]! - stamps[0]!) / 1000) };
  };
  if (engine === 'ours') {
    process.env.GEMMA_WEBGPU_ICD = LVP;
    const { loadModel } = await import('../../src/index.js');
    const m = await loadModel(join(MODELS, model), { backend: 'webgpu', contextLength: 256 });
    const gen = (k: number) => (onToken: () => void) => m.generate(prompt, { temperature: 0, maxTokens: k, ignoreEos: true, onToken }).then((r) => r.tokens);
    const w = await time(gen(8));
    const r = await time(gen(n));
    const { nodeGpu } = await import('../../src/kernels/webgpu/node-gpu.js');
    const info = (await nodeGpu().requestAdapter())?.info;
    await m.dispose();
    return { engine, adapter: `${info?.vendor} / ${info?.architecture} / ${info?.description}`, ...r, warmupTokPerS: w.decodeTokPerS };
  }
  process.env.VK_ICD_FILENAMES = LVP;
  const { AutoModelForCausalLM, env, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = MODELS + '/';
  // WGC_ORT_VERBOSE=1: onnxruntime logs node placement per execution provider (to stderr)
  const verbose = process.env.WGC_ORT_VERBOSE ? { session_options: { logSeverityLevel: 0, logVerbosityLevel: 0 } } : {};
  const m = await AutoModelForCausalLM.from_pretrained(model, { device: 'webgpu', dtype: 'fp32', ...verbose } as never);
  const P = prompt.length;
  const gen = (k: number) => async (onToken: () => void) => {
    let puts = 0;
    const streamer = { put() { if (puts++ > 0) onToken(); }, end() {} };
    const input_ids = new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, P]);
    const attention_mask = new Tensor('int64', new BigInt64Array(P).fill(1n), [1, P]);
    const out = await m.generate({ input_ids, attention_mask, max_new_tokens: k, min_new_tokens: k, do_sample: false, streamer } as never) as unknown as { data: BigInt64Array };
    return Array.from(out.data, Number).slice(P);
  };
  const w = await time(gen(8));
  const r = await time(gen(n));
  return { engine, adapter: `VK_ICD_FILENAMES=${LVP} (onnxruntime-node ${(env.backends.onnx as { versions?: { node?: string } }).versions?.node ?? ''})`, ...r, warmupTokPerS: w.decodeTokPerS };
}

// ---------------------------------------------------------------- parent
async function main(): Promise<void> {
  const ci = process.argv.indexOf('--child');
  const model = flag('model', 'demo-fused');
  const n = Number(flag('n', '64'));
  const promptLen = Number(flag('prompt', '16'));
  const cfg = JSON.parse(readFileSync(join(MODELS, model, 'config.json'), 'utf8')) as { vocab_size: number };
  let x = 777; // the same prompt as run.ts
  const prompt = [2, ...Array.from({ length: promptLen - 1 }, () => { x = (x * 1103515245 + 12345) >>> 0; return 3 + (x % (cfg.vocab_size - 3)); })];
  if (ci >= 0) {
    const r = await child(process.argv[ci + 1]!, model, prompt, n);
    console.log('RESULT ' + JSON.stringify(r));
    return;
  }
  if (!existsSync(LVP)) throw new Error(`no lavapipe (${LVP})`);
  const rounds = Number(flag('rounds', '3'));
  const res: Record<string, Run[]> = { ours: [], theirs: [] };
  console.log(`Node ${process.version}, lavapipe; model ${model}; prompt ${promptLen} tokens, ${n} decoded, greedy`);
  for (let r = 0; r < rounds; r++) {
    for (const engine of r % 2 ? ['theirs', 'ours'] : ['ours', 'theirs']) {
      const p = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', engine, '--model', model, '--n', String(n), '--prompt', String(promptLen)],
        { encoding: 'utf8', env: { ...process.env, VK_ICD_FILENAMES: LVP }, timeout: 600_000 });
      const line = p.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) { console.log(`round ${r + 1} ${engine}: FAILED (status ${p.status})\n${p.stderr.slice(-3000)}`); continue; }
      const o = JSON.parse(line.slice(7)) as Run;
      res[engine]!.push(o);
      console.log(`round ${r + 1} ${engine === 'ours' ? 'gemma-ts       ' : 'transformers.js'}: prefill ${o.prefillMs.toFixed(0)} ms, decode ${o.decodeTokPerS.toFixed(2)} tok/s (warm-up ${o.warmupTokPerS.toFixed(2)}) [${o.adapter}]`);
    }
  }
  const a = res.ours!, b = res.theirs!;
  if (a.length && b.length) {
    const d = a[0]!.tokens.findIndex((t, i) => t !== b[0]!.tokens[i]);
    console.log(`greedy tokens: ${d < 0 ? `all ${n} equal` : `equal up to index ${d}`}`);
    const best = (rs: Run[]) => Math.max(...rs.map((o) => o.decodeTokPerS));
    console.log(`decode tok/s best: gemma-ts ${best(a).toFixed(2)}, transformers.js ${best(b).toFixed(2)}; ratio ours/theirs ${(best(a) / best(b)).toFixed(2)}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
