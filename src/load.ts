/**
 * Loading a model from any byte source: a GGUF file, or a HF-style file set
 * (config.json + safetensors + tokenizer files). Platform-neutral: Node paths,
 * URLs and browser files are turned into ByteSource / FileSet by the callers.
 */
import { GemmaError } from './errors.js';
import { readGguf } from './format/gguf.js';
import { depthChecked } from './format/json-depth.js';
import { type FileSet, openSafetensorsSet, readBytes, readText, ggufStore } from './format/store.js';
import type { ByteSource } from './io/source.js';
import type { Backend } from './kernels/backend.js';
import { configFromHf, type GemmaConfig } from './model/config.js';
import { configFromGguf } from './model/gguf-config.js';
import { type LoadProgress, loadWeights, type WeightTransform } from './model/load-weights.js';
import { GemmaModel, type ModelOptions } from './model/model.js';
import { GemmaTokenizer } from './tokenizer/index.js';
import { tokenizerFromFiles } from './tokenizer/load.js';

export interface LoadOptions extends ModelOptions {
  backend: Backend;
  transform?: WeightTransform;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** skip the tokenizer (parity tools that only feed ids) */
  noTokenizer?: boolean;
}

export interface Loaded {
  model: GemmaModel;
  config: GemmaConfig;
  tokenizer?: GemmaTokenizer;
  chatTemplate?: string;
  format: 'gguf' | 'safetensors';
  close(): Promise<void>;
}

/**
 * A tokenizer with more pieces than the embedding has rows would produce ids the model
 * cannot look up; say so at load instead of failing on the first prompt that uses one.
 * (Fewer is normal: Gemma 3's embedding has padding rows.)
 */
function checkTokenizerFits(t: GemmaTokenizer | undefined, config: GemmaConfig, file: string): void {
  if (t && t.vocabSize > config.vocabSize) {
    throw new GemmaError('TOKENIZER', `the tokenizer has ${t.vocabSize} pieces but the model's embedding has ${config.vocabSize} rows`, { file });
  }
}

export async function loadGgufSource(src: ByteSource, opts: LoadOptions): Promise<Loaded> {
  const f = await readGguf(src);
  const config = configFromGguf(f);
  const weights = await loadWeights(ggufStore(f), config, opts.backend, opts);
  let tokenizer: GemmaTokenizer | undefined;
  if (!opts.noTokenizer && f.metadata.has('tokenizer.ggml.tokens')) tokenizer = GemmaTokenizer.fromGgufMetadata(f.metadata as Map<string, unknown>, src.name);
  checkTokenizerFits(tokenizer, config, src.name);
  const tpl = f.metadata.get('tokenizer.chat_template');
  return {
    model: new GemmaModel(config, opts.backend, weights, opts), config, tokenizer,
    chatTemplate: typeof tpl === 'string' ? tpl : undefined, format: 'gguf',
    close: async () => { await src.close?.(); },
  };
}

export async function loadFileSet(fs: FileSet, opts: LoadOptions): Promise<Loaded> {
  if (!(await fs.has('config.json'))) throw new GemmaError('IO', 'no config.json in the model directory', { file: fs.name });
  const cfgText = await readText(fs, 'config.json', 1 << 20);
  let cfgJson: unknown;
  try { cfgJson = JSON.parse(depthChecked(cfgText, `${fs.name}/config.json`)); } catch (cause) { if (cause instanceof GemmaError) throw cause; throw new GemmaError('BAD_CONFIG', 'config.json is not valid JSON', { file: `${fs.name}/config.json`, cause }); }
  const config = configFromHf(cfgJson, `${fs.name}/config.json`);
  const { store, sources } = await openSafetensorsSet(fs);
  const close = async () => { for (const s of sources) await s.close?.(); };
  try {
    const weights = await loadWeights(store, config, opts.backend, opts);
    let tokenizer: GemmaTokenizer | undefined, chatTemplate: string | undefined;
    if (!opts.noTokenizer) {
      const files: Parameters<typeof tokenizerFromFiles>[0] = {};
      if (await fs.has('tokenizer.json')) files['tokenizer.json'] = await readBytes(fs, 'tokenizer.json', 256 << 20);
      if (await fs.has('tokenizer.model')) files['tokenizer.model'] = await readBytes(fs, 'tokenizer.model', 64 << 20);
      if (await fs.has('tokenizer_config.json')) files['tokenizer_config.json'] = await readText(fs, 'tokenizer_config.json', 16 << 20);
      if (files['tokenizer.json'] || files['tokenizer.model']) ({ tokenizer, chatTemplate } = tokenizerFromFiles(files, fs.name));
      checkTokenizerFits(tokenizer, config, fs.name);
    }
    return { model: new GemmaModel(config, opts.backend, weights, opts), config, tokenizer, chatTemplate, format: 'safetensors', close };
  } catch (e) {
    await close();
    throw e;
  }
}
