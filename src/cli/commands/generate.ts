import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GenerateOptions, type GenerateResult, loadModel, type LoadModelOptions } from '../../index.js';
import type { Gemma } from '../../api/gemma.js';
import { type Command, flagNumber, flagString, type ParsedArgs, parseArgs, parseIdList, UsageError } from '../command.js';
import { loadProgress } from '../progress.js';
import { writeSynth } from './synth.js';

// ---------------------------------------------------------------- shared by generate, chat, serve

/** The gemma-ts package root (works from src/ via tsx and from the dist/ bundle). */
export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) {
      try { if (JSON.parse(readFileSync(pj, 'utf8')).name === 'gemma-ts') return d; } catch { /* keep looking */ }
    }
    d = dirname(d);
  }
  return process.cwd();
}

export const DEMO_PROMPT = 'And God said';
export const DEMO_SEED = 1611;

function findTrainedDemo(root: string): string | undefined {
  const dir = join(root, 'models', 'demo');
  if (!existsSync(dir)) return undefined;
  if (existsSync(join(dir, 'config.json'))) return dir;
  const gguf = readdirSync(dir).find((f) => f.endsWith('.gguf'));
  return gguf ? join(dir, gguf) : undefined;
}

/** The synthetic `demo` preset, written once under .cache/demo-synth (or the OS temp dir). */
async function synthDemo(root: string, log: (s: string) => void): Promise<string> {
  for (const base of [join(root, '.cache'), join(tmpdir(), 'gemma-ts')]) {
    const dir = join(base, 'demo-synth');
    if (existsSync(join(dir, '.complete'))) return dir;
    const tmp = `${dir}.tmp-${process.pid}`;
    try {
      await mkdir(base, { recursive: true });
      log(`writing the synthetic demo model to ${dir} (once; random weights, so expect gibberish — train or download a model for real text)`);
      await writeSynth('demo', 'f32', 'safetensors', 0, tmp);
      await writeFile(join(tmp, '.complete'), '');
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      return dir;
    } catch {
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
    }
  }
  throw new UsageError('no model given and the demo model could not be written; pass a model path');
}

export interface ModelArg { source: string; demo: boolean }

/** The model positional, or the demo model: models/demo when trained, else the synthetic preset. */
export async function resolveModelArg(p: ParsedArgs, log: (s: string) => void): Promise<ModelArg> {
  const given = p.positionals[0] ?? flagString(p, 'model');
  if (given) return { source: given, demo: false };
  const root = packageRoot();
  const trained = findTrainedDemo(root);
  if (trained) return { source: trained, demo: true };
  return { source: await synthDemo(root, log), demo: true };
}

export const LOAD_FLAGS_USAGE = `model options:
  --backend auto|webgpu|wasm|reference   (default auto: WebGPU if an adapter exists, else WASM)
  --context N          KV cache length in tokens (default min(model max, 4096))
  --threads N          WASM threads
  --kv-cache f32|f16   KV cache type (WASM: default f32; WebGPU: default f16 with shader-f16, else f32;
                       f16: half the memory, logits move ~1e-3)
  --quantize TYPE      quantize weights while loading (q8_0, q4_k, ...)`;

/** --kv-cache f32|f16 (the WASM or WebGPU backend's KV cache type), or undefined when not given */
export function kvCacheFlag(p: ParsedArgs): 'f32' | 'f16' | undefined {
  const kv = flagString(p, 'kv-cache');
  if (kv !== undefined && kv !== 'f32' && kv !== 'f16') throw new UsageError(`--kv-cache must be f32 or f16, got ${kv}`);
  return kv;
}

export function loadOptions(p: ParsedArgs, quiet: boolean): LoadModelOptions {
  const o: LoadModelOptions = { backend: flagString(p, 'backend') ?? 'auto', onProgress: loadProgress({ enabled: !quiet }) };
  const ctx = flagNumber(p, 'context'), th = flagNumber(p, 'threads'), q = flagString(p, 'quantize'), kv = kvCacheFlag(p);
  if (ctx !== undefined) o.contextLength = ctx;
  if (kv !== undefined) o.kvCache = kv;
  if (th !== undefined) o.threads = th;
  if (q !== undefined) o.quantize = q;
  return o;
}

export const SAMPLING_FLAGS_USAGE = `generation options:
  --max-tokens N       (default 128)
  --temperature T      0 = greedy (default 0.8)
  --top-k K --top-p P --min-p P
  --repeat-penalty R --presence-penalty P --frequency-penalty F
  --seed N             same seed, same output (default: random; fixed for the demo model)
  --stop TEXT          stop string (several: --stop "a|b" --stop-sep "|")
  --ignore-eos         keep going through <eos>/<end_of_turn>
  --logprobs N         top-N log-probabilities per token (with --json)`;

export function generateOptions(p: ParsedArgs): GenerateOptions {
  const o: GenerateOptions = { maxTokens: flagNumber(p, 'max-tokens') ?? 128 };
  const num = (flag: string, key: keyof GenerateOptions) => { const v = flagNumber(p, flag); if (v !== undefined) (o as Record<string, unknown>)[key] = v; };
  num('temperature', 'temperature'); num('top-k', 'topK'); num('top-p', 'topP'); num('min-p', 'minP');
  num('repeat-penalty', 'repetitionPenalty'); num('presence-penalty', 'presencePenalty'); num('frequency-penalty', 'frequencyPenalty');
  num('seed', 'seed'); num('logprobs', 'logprobs');
  const stop = flagString(p, 'stop');
  if (stop !== undefined) o.stop = stop.split(flagString(p, 'stop-sep') ?? '\u0000').filter(Boolean);
  if (p.flags.has('ignore-eos')) o.ignoreEos = true;
  return o;
}

export async function openModel(p: ParsedArgs, quiet: boolean, extra: Partial<LoadModelOptions> = {}): Promise<{ model: Gemma; demo: boolean }> {
  const log = (s: string) => { if (!quiet) process.stderr.write(s + '\n'); };
  const arg = await resolveModelArg(p, log);
  if (arg.demo) log(`model: ${arg.source} (demo)`);
  const model = await loadModel(arg.source, { ...loadOptions(p, quiet), ...extra });
  return { model, demo: arg.demo };
}

export function statsLine(r: GenerateResult, backend: string): string {
  return `[${r.usage.completionTokens} tokens, ${r.tokensPerSecond.toFixed(1)} tokens/s, prompt ${r.usage.promptTokens} tokens at ${r.timings.promptTokensPerSecond.toFixed(1)} tokens/s, finish ${r.finishReason}, backend ${backend}]`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------- the command

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate text from a prompt (no model: the built-in demo model)',
  usage: `usage: gemma-ts generate [model] [--prompt TEXT | --prompt -] [options]

<model> is a .gguf file, a model directory (config.json + safetensors + tokenizer), or an
http(s) URL of either. Without one, the demo model is used (models/demo when trained, else a
synthetic one written once to .cache/demo-synth), with prompt "${DEMO_PROMPT}", temperature 0.8
and a fixed seed, so the output is reproducible.

Streams the text to stdout and prints tokens/s to stderr.

  --prompt TEXT        the prompt ("-" reads stdin); --tokens 2,17,99 gives token ids instead
  --chat               wrap the prompt as a user message in the chat template
  --system TEXT        system prompt (with --chat)
  --json               print the whole result as JSON (text, tokens, finishReason, usage, timings)
  --quiet              no progress or stats on stderr

${SAMPLING_FLAGS_USAGE}

${LOAD_FLAGS_USAGE}`,
  async run(argv) {
    const p = parseArgs(argv, ['json', 'chat', 'quiet', 'ignore-eos']);
    const json = p.flags.has('json');
    const quiet = json || p.flags.has('quiet');
    const opts = generateOptions(p);
    const { model, demo } = await openModel(p, quiet);
    try {
      let prompt: string | number[] | undefined = flagString(p, 'prompt');
      if (prompt === '-') prompt = (await readStdin()).replace(/\r?\n$/, '');
      const tokens = flagString(p, 'tokens');
      if (tokens !== undefined) prompt = parseIdList(tokens);
      if (prompt === undefined) {
        if (!demo) throw new UsageError('--prompt is required');
        prompt = DEMO_PROMPT;
      }
      if (demo) { opts.seed ??= DEMO_SEED; opts.temperature ??= 0.8; }
      let g;
      if (p.flags.has('chat')) {
        if (typeof prompt !== 'string') throw new UsageError('--chat needs a text prompt');
        const system = flagString(p, 'system');
        g = model.chat([...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: prompt }], opts);
      } else {
        g = model.generate(prompt, opts);
      }
      const stopper = new AbortController();
      const onSig = () => { stopper.abort(); g.abort(); };
      process.once('SIGINT', onSig);
      try {
        if (json) {
          const r = await g;
          process.stdout.write(JSON.stringify({ model: model.name, backend: model.backend, prompt, ...r }, null, 2) + '\n');
          return;
        }
        if (typeof prompt === 'string' && !p.flags.has('chat')) process.stdout.write(prompt);
        for await (const chunk of g) process.stdout.write(chunk);
        const r = await g.result;
        process.stdout.write('\n');
        if (!p.flags.has('quiet')) process.stderr.write(statsLine(r, model.backend) + '\n');
      } finally {
        process.off('SIGINT', onSig);
      }
    } finally {
      await model.dispose();
    }
  },
};
