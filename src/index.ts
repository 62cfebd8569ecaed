/**
 * gemma-ts for Node ≥ 20 and Deno (`import { loadModel } from 'npm:gemma-ts'`).
 *
 *   import { loadModel } from 'gemma-ts';
 *   const model = await loadModel('models/gemma-3-1b-it');     // a .gguf, a HF directory or a URL
 *   for await (const t of model.generate('The sky is')) process.stdout.write(t);
 */
import { stat } from 'node:fs/promises';
import { GemmaError } from './errors.js';
import { nodeDirFileSet } from './io/node-dir.js';
import { FileSource } from './io/node-file.js';
import type { Gemma } from './api/gemma.js';
import { loadModelWith, type LoadModelOptions, type Platform } from './api/load-model.js';
import type { ModelSource, ResolvedSource } from './api/sources.js';

export * from './api/exports.js';

async function openPath(path: string): Promise<ResolvedSource> {
  let st;
  try { st = await stat(path); } catch (cause) { throw new GemmaError('IO', `cannot open ${path}`, { file: path, cause }); }
  if (st.isDirectory()) return { kind: 'fileset', files: nodeDirFileSet(path), name: path };
  return { kind: 'gguf', source: await FileSource.open(path), name: path };
}

/** Node: give WebGPU a navigator.gpu from the `webgpu` package (src/kernels/webgpu/node-gpu.ts), when both exist. */
async function prepareWebGpu(): Promise<void> {
  if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) return;
  const name = 'node-gpu';
  let mod: Record<string, unknown>;
  try { mod = await import(`./kernels/webgpu/${name}.ts`); } catch { return; }
  for (const k of ['installNodeGpu', 'installNavigatorGpu', 'ensureNodeGpu', 'setupNodeGpu', 'default']) {
    if (typeof mod[k] === 'function') { await (mod[k] as () => unknown)(); return; }
  }
}

export const nodePlatform: Platform = { openPath, prepareWebGpu, defaultCache: false };

/**
 * Load a Gemma model: a .gguf path, a model directory (config.json + *.safetensors +
 * tokenizer files), an http(s) URL (read with Range requests, tensor by tensor), an
 * ArrayBuffer, a Blob, or an open ByteSource / FileSet.
 */
export function loadModel(source: ModelSource, opts: LoadModelOptions = {}): Promise<Gemma> {
  return loadModelWith(nodePlatform, source, opts);
}
