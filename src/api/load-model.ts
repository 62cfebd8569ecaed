/**
 * loadModel, platform-neutral: pick a backend, resolve the source, read config + tokenizer,
 * place the weights (optionally quantized on the way), and wrap it all in a Gemma.
 * src/index.ts (Node, Deno) and src/browser.ts add their platform hooks.
 */
import { GemmaError } from '../errors.js';
import { type Loaded, loadFileSet, loadGgufSource } from '../load.js';
import type { WeightTransform } from '../model/load-weights.js';
import * as quant from '../quant/index.js';
import { type BackendChoice, pickBackend } from './backend-select.js';
import { Gemma } from './gemma.js';
import { type LoadProgressEvent, modelNameOf, type ModelSource, resolveSource, type ResolvedSource, type SourceOptions } from './sources.js';

export interface LoadModelOptions {
  /** 'auto' (default): WebGPU when an adapter exists, else WASM (else the reference backend) */
  backend?: BackendChoice;
  /** re-encode weights while loading, e.g. 'q8_0' or 'q4_k' (needs the quantization module) */
  quantize?: string | Record<string, unknown>;
  /** KV cache size in tokens (default min(model maximum, 4096)) */
  contextLength?: number;
  /** prompt tokens evaluated per forward pass (default 128) */
  prefillChunk?: number;
  /** WASM worker threads */
  threads?: number;
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
  prepareWebGpu?: () => Promise<void>;
  baseUrl?: string;
  defaultCache?: boolean;
}

function now(): number { return globalThis.performance?.now() ?? Date.now(); }

/** The quantize-on-load transform from src/quant, when that module provides one. */
export function quantizeTransformFor(spec: LoadModelOptions['quantize']): WeightTransform | undefined {
  if (spec === undefined) return undefined;
  const make = (quant as Record<string, unknown>)['quantizeTransform'];
  if (typeof make !== 'function') throw new GemmaError('BAD_ARGUMENT', 'quantize not available yet (this build has no quantize-on-load transform)', { field: 'quantize' });
  const t = (make as (s: unknown) => unknown)(spec);
  if (typeof t !== 'function') throw new GemmaError('INTERNAL', 'quantizeTransform did not return a transform');
  return t as WeightTransform;
}

export async function loadModelWith(platform: Platform, source: ModelSource, opts: LoadModelOptions = {}): Promise<Gemma> {
  const t0 = now();
  if (opts.signal?.aborted) throw new GemmaError('ABORTED', 'loading was aborted');
  if (opts.contextLength !== undefined && !(Number.isInteger(opts.contextLength) && opts.contextLength >= 1)) {
    throw new GemmaError('BAD_ARGUMENT', `contextLength must be a positive integer, got ${opts.contextLength}`, { field: 'contextLength' });
  }
  const transform = quantizeTransformFor(opts.quantize);
  const picked = await pickBackend(opts.backend ?? 'auto', { threads: opts.threads, prepareWebGpu: platform.prepareWebGpu });
  opts.onProgress?.({ phase: 'backend', backend: picked.name, reason: picked.reason });
  let resolved: ResolvedSource | undefined;
  let loaded: Loaded | undefined;
  try {
    resolved = await resolveSource(source, {
      fetch: opts.fetch, cache: opts.cache ?? platform.defaultCache ?? false, onProgress: opts.onProgress,
      signal: opts.signal, openPath: platform.openPath, baseUrl: platform.baseUrl,
    });
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
