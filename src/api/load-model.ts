/**
 * loadModel, platform-neutral: pick a backend, resolve the source, read config + tokenizer,
 * place the weights (optionally quantized on the way), and wrap it all in a Gemma.
 * src/index.ts (Node, Deno) and src/browser.ts add their platform hooks.
 */
import { GemmaError } from '../errors.js';
import { type Loaded, loadFileSet, loadGgufSource } from '../load.js';
import type { WeightTransform } from '../model/load-weights.js';
import { readGguf } from '../format/gguf.js';
import { depthChecked } from '../format/json-depth.js';
import { readText } from '../format/store.js';
import { configFromHf, type GemmaConfig } from '../model/config.js';
import { configFromGguf } from '../model/gguf-config.js';
import { quantizeTransform } from '../quant/quantize-model.js';
import type { QuantPolicy } from '../quant/policy.js';
import { type BackendChoice, pickBackend } from './backend-select.js';
import { Gemma } from './gemma.js';
import { type LoadProgressEvent, modelNameOf, type ModelSource, resolveSource, type ResolvedSource, type SourceOptions } from './sources.js';

export interface LoadModelOptions {
  /** 'auto' (default): WebGPU when an adapter exists, else WASM (else the reference backend) */
  backend?: BackendChoice;
  /** re-encode weights while loading: a type or llama.cpp recipe ('q8_0', 'q4_k_m', ...) or a QuantPolicy */
  quantize?: string | QuantPolicy;
  /** KV cache size in tokens (default min(model maximum, 4096)) */
  contextLength?: number;
  /** prompt tokens evaluated per forward pass (default 128) */
  prefillChunk?: number;
  /** WASM worker threads */
  threads?: number;
  /**
   * WASM backend: the KV cache's element type. 'f32' (default) computes as the reference backend
   * does; 'f16' (llama.cpp's default) halves the cache's memory and the attention's reads, and
   * moves logits by about 1e-3. The WebGPU backend picks its own (f16 with shader-f16).
   */
  kvCache?: 'f32' | 'f16';
  onProgress?: (e: LoadProgressEvent) => void;
  signal?: AbortSignal;
  /** browser: keep downloaded files in the Cache API (default true in the browser build) */
  cache?: boolean | string;
  /** fetch implementation for URL sources */
  fetch?: typeof fetch;
  /** calls allowed to wait behind a running one before GemmaError('BUSY') (default: no limit) */
  maxQueue?: number;
  /** name reported by the OpenAI-shaped API (default: from the file name) */
  name?: string;
  /** false: skip the tokenizer (token-id-only use) */
  tokenizer?: boolean;
}

export interface Platform {
  openPath?: SourceOptions['openPath'];
  prepareWebGpu?: (explicit: boolean) => Promise<void>;
  baseUrl?: string;
  defaultCache?: boolean;
}

function now(): number { return globalThis.performance?.now() ?? Date.now(); }

/**
 * The quantize-on-load transform (src/quant/quantize-model.ts) for a policy such as 'q8_0',
 * 'q4_k_m' or a QuantPolicy object. The recipes mix types by layer, so the config is read first.
 */
async function quantizeTransformFor(spec: LoadModelOptions['quantize'], r: ResolvedSource): Promise<WeightTransform | undefined> {
  if (spec === undefined) return undefined;
  if (typeof spec !== 'string' && (typeof spec !== 'object' || spec === null)) throw new GemmaError('BAD_ARGUMENT', 'quantize must be a type/recipe name or a policy object', { field: 'quantize' });
  let config: GemmaConfig;
  if (r.kind === 'gguf') config = configFromGguf(await readGguf(r.source));
  else {
    let json: unknown;
    try { json = JSON.parse(depthChecked(await readText(r.files, 'config.json', 1 << 20), `${r.files.name}/config.json`)); } catch (cause) {
      if (cause instanceof GemmaError) throw cause;
      throw new GemmaError('BAD_CONFIG', 'config.json is not valid JSON', { file: `${r.files.name}/config.json`, cause });
    }
    config = configFromHf(json, `${r.files.name}/config.json`);
  }
  return quantizeTransform(spec as Parameters<typeof quantizeTransform>[0], config);
}

export async function loadModelWith(platform: Platform, source: ModelSource, opts: LoadModelOptions = {}): Promise<Gemma> {
  const t0 = now();
  if (opts.signal?.aborted) throw new GemmaError('ABORTED', 'loading was aborted');
  if (opts.contextLength !== undefined && !(Number.isInteger(opts.contextLength) && opts.contextLength >= 1)) {
    throw new GemmaError('BAD_ARGUMENT', `contextLength must be a positive integer, got ${opts.contextLength}`, { field: 'contextLength' });
  }
  if (opts.kvCache !== undefined && opts.kvCache !== 'f32' && opts.kvCache !== 'f16') {
    throw new GemmaError('BAD_ARGUMENT', `kvCache must be 'f32' or 'f16', got ${JSON.stringify(opts.kvCache)}`, { field: 'kvCache' });
  }
  const picked = await pickBackend(opts.backend ?? 'auto', {
    threads: opts.threads, prepareWebGpu: platform.prepareWebGpu,
    backendOptions: opts.kvCache ? { kvCache: opts.kvCache } : undefined,
  });
  opts.onProgress?.({ phase: 'backend', backend: picked.name, reason: picked.reason });
  let resolved: ResolvedSource | undefined;
  let loaded: Loaded | undefined;
  try {
    resolved = await resolveSource(source, {
      fetch: opts.fetch, cache: opts.cache ?? platform.defaultCache ?? false, onProgress: opts.onProgress,
      signal: opts.signal, openPath: platform.openPath, baseUrl: platform.baseUrl,
    });
    const transform = await quantizeTransformFor(opts.quantize, resolved);
    const lo = {
      backend: picked.backend, contextLength: opts.contextLength, prefillChunk: opts.prefillChunk, transform,
      signal: opts.signal, noTokenizer: opts.tokenizer === false,
      onProgress: opts.onProgress ? (p: { done: number; total: number; tensor: string }) => opts.onProgress!({ phase: 'weights', done: p.done, total: p.total, tensor: p.tensor }) : undefined,
    };
    loaded = resolved.kind === 'gguf' ? await loadGgufSource(resolved.source, lo) : await loadFileSet(resolved.files, lo);
    const model = new Gemma({ loaded, name: opts.name ?? modelNameOf(resolved.name), backend: picked.name, backendReason: picked.reason, maxQueue: opts.maxQueue });
    opts.onProgress?.({ phase: 'ready', backend: picked.name, ms: now() - t0 });
    return model;
  } catch (e) {
    if (loaded) { loaded.model.dispose(); await loaded.close().catch(() => {}); }
    else {
      picked.backend.dispose();
      if (resolved?.kind === 'gguf') await resolved.source.close?.().catch(() => {});
    }
    throw e;
  }
}
