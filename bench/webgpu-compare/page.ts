/**
 * The benchmark page (bundled by run.ts with esbuild, run in headless Chromium). Both engines
 * live in the same page and use the same navigator.gpu adapter; run.ts calls them in turn.
 *
 * One run = greedy decode of `n` tokens after a fixed prompt of token ids, <eos> ignored.
 * Each engine reports a timestamp per generated token (ours: onToken; transformers.js: a
 * streamer's put()), so both are measured the same way:
 *   prefill ms = first token - start     decode tok/s = (n - 1) / (last token - first token)
 */
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { loadModel } from '../../src/browser.js';

interface RunResult { tokens: number[]; prefillMs: number; decodeTokPerS: number; decodeMs: number }
interface Args { model: string; prompt: number[]; n: number }

const now = () => performance.now();

function summarise(t0: number, stamps: number[], tokens: number[]): RunResult {
  const decodeMs = stamps[stamps.length - 1]! - stamps[0]!;
  return { tokens, prefillMs: stamps[0]! - t0, decodeMs, decodeTokPerS: (stamps.length - 1) / (decodeMs / 1000) };
}

// ---------------------------------------------------------------- gemma-ts
type Ours = Awaited<ReturnType<typeof loadModel>>;
const ours = new Map<string, Ours>();

async function runOurs(a: Args): Promise<RunResult> {
  let m = ours.get(a.model);
  if (!m) {
    m = await loadModel(`/models/${a.model}/`, { backend: 'webgpu', cache: false, contextLength: 256 });
    ours.set(a.model, m);
  }
  const stamps: number[] = [];
  const t0 = now();
  const r = await m.generate(a.prompt, { temperature: 0, maxTokens: a.n, ignoreEos: true, onToken: () => { stamps.push(now()); } });
  if (r.tokens.length !== a.n) throw new Error(`ours generated ${r.tokens.length} tokens, wanted ${a.n}`);
  return summarise(t0, stamps, r.tokens);
}

// ---------------------------------------------------------------- transformers.js
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.useBrowserCache = false;
const ortEnv = env.backends.onnx as { wasm: { wasmPaths: unknown; numThreads?: number } };
/** ?ortlog=verbose: the session logs at severity 0 (node placement per execution provider) */
const ortLog = new URLSearchParams(location.search).get('ortlog');
ortEnv.wasm.wasmPaths = { mjs: '/ort/ort-wasm-simd-threaded.asyncify.mjs', wasm: '/ort/ort-wasm-simd-threaded.asyncify.wasm' };

type Theirs = Awaited<ReturnType<typeof AutoModelForCausalLM.from_pretrained>>;
const theirs = new Map<string, Theirs>();

async function runTheirs(a: Args): Promise<RunResult> {
  let m = theirs.get(a.model);
  if (!m) {
    m = await AutoModelForCausalLM.from_pretrained(a.model, { device: 'webgpu', dtype: 'fp32', ...(ortLog ? { session_options: { logSeverityLevel: 0, logVerbosityLevel: 0 } } : {}) } as never);
    theirs.set(a.model, m);
  }
  const stamps: number[] = [];
  let puts = 0;
  const streamer = {
    put(_ids: unknown) { if (puts++ > 0) stamps.push(now()); }, // the first put() is the prompt
    end() {},
  };
  const P = a.prompt.length;
  const input_ids = new Tensor('int64', BigInt64Array.from(a.prompt.map(BigInt)), [1, P]);
  const attention_mask = new Tensor('int64', new BigInt64Array(P).fill(1n), [1, P]);
  const t0 = now();
  const out = await m.generate({ input_ids, attention_mask, max_new_tokens: a.n, min_new_tokens: a.n, do_sample: false, streamer } as never) as unknown as { data: BigInt64Array; dims: number[] };
  const all = Array.from(out.data, Number);
  const tokens = all.slice(P);
  if (tokens.length !== a.n || stamps.length !== a.n) throw new Error(`transformers.js generated ${tokens.length} tokens (${stamps.length} stamps), wanted ${a.n}`);
  return summarise(t0, stamps, tokens);
}

// ---------------------------------------------------------------- logits on the adapter (correctness)
interface LogitArgs { model: string; ids: number[]; split: number }

/** ours on WebGPU: logits of every position, the whole sequence in one prefill */
async function logitsOurs(a: LogitArgs): Promise<number[]> {
  const m = ours.get(a.model) ?? await loadModel(`/models/${a.model}/`, { backend: 'webgpu', cache: false, contextLength: 256 });
  ours.set(a.model, m);
  return Array.from(await m.logits(a.ids, { allLogits: true }));
}

/**
 * transformers.js on WebGPU: the model's forward (what generate() calls) on ids[0:split] in one
 * call, then one token per call with present.* fed back as past_key_values.*; every
 * position's logits. Position ids as transformers.js makes them (from 1 for gemma3).
 */
async function logitsTheirs(a: LogitArgs): Promise<number[]> {
  let m = theirs.get(a.model);
  if (!m) { m = await AutoModelForCausalLM.from_pretrained(a.model, { device: 'webgpu', dtype: 'fp32' }); theirs.set(a.model, m); }
  const out: number[] = [];
  let past: Record<string, unknown> | null = null;
  let done = 0;
  while (done < a.ids.length) {
    const n = done === 0 ? a.split : 1;
    const chunk = a.ids.slice(done, done + n);
    const input_ids = new Tensor('int64', BigInt64Array.from(chunk.map(BigInt)), [1, n]);
    const attention_mask = new Tensor('int64', new BigInt64Array(done + n).fill(1n), [1, done + n]);
    const r = await (m as unknown as (x: unknown) => Promise<Record<string, { data: Float32Array; dispose?: () => void }>>)({ input_ids, attention_mask, ...(past ? { past_key_values: past } : {}) });
    out.push(...Array.from(r.logits!.data));
    const next: Record<string, unknown> = {};
    for (const k of Object.keys(r)) if (k.startsWith('present.')) next[k.replace('present.', 'past_key_values.')] = r[k];
    if (past) for (const t of Object.values(past)) (t as { dispose?: () => void }).dispose?.();
    past = next;
    done += n;
  }
  if (past) for (const t of Object.values(past)) (t as { dispose?: () => void }).dispose?.();
  return out;
}

async function adapterInfo(): Promise<string> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
  const ad = await gpu?.requestAdapter();
  if (!ad) return 'no WebGPU adapter';
  const i = ad.info ?? {};
  return [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ');
}

Object.assign(globalThis, { runOurs, runTheirs, logitsOurs, logitsTheirs, adapterInfo, ortVersion: () => (env.backends.onnx as { versions?: { web?: string } }).versions?.web });
document.body.dataset.ready = '1';
