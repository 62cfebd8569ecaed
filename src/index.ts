/**
 * gemma-ts for Node ≥ 20 and Deno (`import { loadModel } from 'npm:gemma-ts'`).
 *
 *   import { loadModel } from 'gemma-ts';
 *   const model = await loadModel('models/gemma-3-1b-it');     // a .gguf, a HF directory or a URL
 *   for await (const t of model.generate('The sky is')) process.stdout.write(t);
 */
import type { Gemma } from './api/gemma.js';
import { loadModelWith, type LoadModelOptions } from './api/load-model.js';
import { nodePlatform } from './api/node-platform.js';
import type { ModelSource } from './api/sources.js';

export * from './api/exports.js';

/**
 * Load a Gemma model: a .gguf path, a model directory (config.json + *.safetensors +
 * tokenizer files), an http(s) URL (read with Range requests, tensor by tensor), an
 * ArrayBuffer, a Blob, or an open ByteSource / FileSet.
 */
export function loadModel(source: ModelSource, opts: LoadModelOptions = {}): Promise<Gemma> {
  return loadModelWith(nodePlatform, source, opts);
}
