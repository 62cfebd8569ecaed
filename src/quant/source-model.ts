/**
 * Opening a model as the quantizer and the quant report see it: its tensor index, its
 * config, and the GGUF metadata a quantized copy should carry (architecture keys, tokenizer,
 * chat template). Platform-neutral: callers turn paths, URLs or browser files into a
 * ByteSource (a .gguf) or a FileSet (a Hugging Face directory).
 */
import { GemmaError } from '../errors.js';
import { GgufType, type GgufTypedValue, ggufTyped, readGguf, type GgufValue } from '../format/gguf.js';
import { depthChecked } from '../format/json-depth.js';
import { type FileSet, ggufStore, openSafetensorsSet, readBytes, readText } from '../format/store.js';
import type { ByteSource } from '../io/source.js';
import { configFromHf } from '../model/config.js';
import { configFromGguf } from '../model/gguf-config.js';
import { ggufConfigMetadata } from '../model/synth.js';
import { GemmaTokenizer, tokenizerFromFiles } from '../tokenizer/index.js';
import type { SourceTensors } from './quantize-model.js';

export interface SourceModel extends SourceTensors {
  name: string;
  format: 'gguf' | 'safetensors';
  /** the vocabulary, when the model files carry one (for text prompts in reports) */
  tokenizer?: GemmaTokenizer;
  close(): Promise<void>;
}

/** A .gguf file: its metadata is copied as is (the quantizer updates general.file_type). */
export async function openGgufModel(src: ByteSource): Promise<SourceModel> {
  const f = await readGguf(src);
  const config = configFromGguf(f);
  let tokenizer: GemmaTokenizer | undefined;
  if (f.metadata.has('tokenizer.ggml.tokens')) tokenizer = GemmaTokenizer.fromGgufMetadata(f.metadata as Map<string, unknown>, src.name);
  return {
    name: src.name, format: 'gguf', store: ggufStore(f), config, metadata: new Map(f.types), tokenizer,
    close: async () => { await src.close?.(); },
  };
}

/** tokenizer.ggml.* entries from the tokenizer's own export, with the value types llama.cpp reads */
function tokenizerMetadata(t: GemmaTokenizer, chatTemplate: string | undefined): Map<string, GgufTypedValue> {
  const m = new Map<string, GgufTypedValue>();
  for (const [k, v] of t.toGgufMetadata()) {
    if (k.endsWith('_token_id')) m.set(k, { type: GgufType.UINT32, value: v as number });
    else m.set(k, ggufTyped(v as GgufValue));
  }
  if (chatTemplate !== undefined) m.set('tokenizer.chat_template', { type: GgufType.STRING, value: chatTemplate });
  return m;
}

/**
 * A Hugging Face directory (config.json + safetensors + tokenizer files). The GGUF metadata
 * is llama.cpp's keys for the config plus the tokenizer's vocabulary (tokenizer.json or
 * tokenizer.model) and the chat template from tokenizer_config.json. A directory without
 * tokenizer files gives a GGUF without a vocabulary (llama.cpp then refuses to load it).
 */
export async function openHfModel(fs: FileSet): Promise<SourceModel> {
  if (!(await fs.has('config.json'))) throw new GemmaError('IO', 'no config.json in the model directory', { file: fs.name });
  let cfgJson: unknown;
  try { cfgJson = JSON.parse(depthChecked(await readText(fs, 'config.json', 1 << 20), `${fs.name}/config.json`)); } catch (cause) {
    if (cause instanceof GemmaError) throw cause;
    throw new GemmaError('BAD_CONFIG', 'config.json is not valid JSON', { file: `${fs.name}/config.json`, cause });
  }
  const config = configFromHf(cfgJson, `${fs.name}/config.json`);
  const { store, sources } = await openSafetensorsSet(fs);
  const close = async () => { for (const s of sources) await s.close?.(); };
  try {
    const base = fs.name.split(/[\\/]/).filter(Boolean).pop() ?? 'gemma';
    const metadata = ggufConfigMetadata(config, base);
    const files: Parameters<typeof tokenizerFromFiles>[0] = {};
    if (await fs.has('tokenizer.json')) files['tokenizer.json'] = await readBytes(fs, 'tokenizer.json', 256 << 20);
    if (await fs.has('tokenizer.model')) files['tokenizer.model'] = await readBytes(fs, 'tokenizer.model', 64 << 20);
    if (await fs.has('tokenizer_config.json')) files['tokenizer_config.json'] = await readText(fs, 'tokenizer_config.json', 16 << 20);
    let tokenizer: GemmaTokenizer | undefined;
    if (files['tokenizer.json'] || files['tokenizer.model']) {
      const loaded = tokenizerFromFiles(files, fs.name);
      tokenizer = loaded.tokenizer;
      for (const [k, v] of tokenizerMetadata(tokenizer, loaded.chatTemplate)) metadata.set(k, v);
    }
    return { name: fs.name, format: 'safetensors', store, config, metadata, tokenizer, close };
  } catch (e) {
    await close();
    throw e;
  }
}
