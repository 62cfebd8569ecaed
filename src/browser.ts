/**
 * gemma-ts for browsers (ESM bundle: dist/browser.js). No node: imports.
 *
 *   import { loadModel } from 'gemma-ts/browser';
 *   const model = await loadModel(fileInput.files, { onProgress: console.log });   // or a URL / File / ArrayBuffer
 *   for await (const t of model.chat([{ role: 'user', content: 'Hi' }])) out.textContent += t;
 *
 * Downloaded URLs are kept in the Cache API by default (cache: false to stream without caching).
 */
import type { Gemma } from './api/gemma.js';
import { loadModelWith, type LoadModelOptions } from './api/load-model.js';
import type { ModelSource } from './api/sources.js';

export * from './api/exports.js';

/** Load a Gemma model from a URL (relative to the page), a File / FileList / File[], an ArrayBuffer or a Blob. */
export function loadModel(source: ModelSource, opts: LoadModelOptions = {}): Promise<Gemma> {
  const baseUrl = (globalThis as { location?: { href?: string } }).location?.href;
  return loadModelWith({ baseUrl, defaultCache: true }, source, opts);
}
