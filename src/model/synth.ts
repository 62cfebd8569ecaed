/**
 * Synthetic Gemma models: exact architectures with seeded random weights, written as a
 * Hugging Face-style safetensors directory or a llama.cpp-compatible GGUF.
 *
 * The same (preset, seed) gives the same weights in both formats: every tensor's values
 * come from its own PRNG stream seeded by hash(seed, HF name), so order and format do not
 * matter. Norm weights w are drawn around 0; safetensors stores w, GGUF stores 1 + w (f32),
 * as llama.cpp's converter does.
 */
import { GgufType, type GgufTypedValue, type GgufWriteTensor, ggufTyped, writeGguf } from '../format/gguf.js';
import { safetensorsHeader } from '../format/safetensors.js';
import { f32ToBf16, f32ToF16, roundBf16, roundF16 } from '../tensor/half.js';
import { fillNormal, hashSeed, mulberry32 } from '../util/rng.js';
import { type GemmaConfig, configToHf, ggufArch } from './config.js';
import { synthVocab, type VocabSpec } from './synth-vocab.js';
import { type TensorSpec, tensorSpecs } from './weights.js';

export type FloatDType = 'f32' | 'f16' | 'bf16';

export interface SynthOptions {
  seed: number;
  dtype: FloatDType;
  /** std of projection weights; default 0.02 for real sizes, 1/sqrt(fan_in) for tiny models */
  std?: number;
  /** std of the embedding; default 0.02 real, 0.25 tiny (so logits have a real spread) */
  embedStd?: number;
  /** std of norm weights w (the model uses 1 + w); default 0.1 */
  normStd?: number;
}

function isTiny(c: GemmaConfig): boolean { return c.hiddenSize <= 256; }

/** The f32 values of one tensor (before rounding to the storage dtype). */
export function synthValues(c: GemmaConfig, s: TensorSpec, o: SynthOptions): Float32Array {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const rand = mulberry32(hashSeed(o.seed, s.hf));
  const tiny = isTiny(c);
  const std = s.isNorm ? (o.normStd ?? 0.1)
    : s.role === 'embed' ? (o.embedStd ?? (tiny ? 0.25 : 0.02))
      : (o.std ?? (tiny ? 1 / Math.sqrt(s.shape[1]!) : 0.02));
  return fillNormal(new Float32Array(n), rand, std);
}

function roundTo(dt: FloatDType, v: number): number {
  return dt === 'f32' ? Math.fround(v) : dt === 'f16' ? roundF16(v) : roundBf16(v);
}

/** encode f32 values in a float dtype */
export function encodeFloats(dt: FloatDType, v: Float32Array): Uint8Array {
  if (dt === 'f32') return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  const out = new Uint16Array(v.length);
  const enc = dt === 'f16' ? f32ToF16 : f32ToBf16;
  for (let i = 0; i < v.length; i++) out[i] = enc(v[i]!);
  return new Uint8Array(out.buffer);
}

/** Tensors of a synthetic model in HF convention (name, dtype, shape, lazily computed bytes). */
export function synthHfTensors(c: GemmaConfig, o: SynthOptions) {
  return tensorSpecs(c).map((s) => ({
    name: s.hf, dtype: o.dtype, shape: s.shape, byteLength: s.shape.reduce((a, b) => a * b, 1) * (o.dtype === 'f32' ? 4 : 2),
    data: () => encodeFloats(o.dtype, synthValues(c, s, o)),
  }));
}

/** Tensors of a synthetic model in GGUF convention: norms as f32 (1 + w rounded to the dtype). */
export function synthGgufTensors(c: GemmaConfig, o: SynthOptions): GgufWriteTensor[] {
  return tensorSpecs(c).map((s) => ({
    name: s.gguf,
    dtype: s.isNorm ? 'f32' : o.dtype,
    shape: s.shape,
    data: () => {
      const v = synthValues(c, s, o);
      if (!s.isNorm) return encodeFloats(o.dtype, v);
      for (let i = 0; i < v.length; i++) v[i] = Math.fround(1 + roundTo(o.dtype, v[i]!));
      return encodeFloats('f32', v);
    },
  }));
}

/** llama.cpp's metadata keys for a Gemma config. */
export function ggufConfigMetadata(c: GemmaConfig, name: string): Map<string, GgufTypedValue> {
  const a = ggufArch(c.family);
  const m = new Map<string, GgufTypedValue>();
  const u32 = (k: string, v: number) => m.set(k, { type: GgufType.UINT32, value: v });
  const f32 = (k: string, v: number) => m.set(k, { type: GgufType.FLOAT32, value: v });
  m.set('general.architecture', { type: GgufType.STRING, value: a });
  m.set('general.name', { type: GgufType.STRING, value: name });
  u32(`${a}.context_length`, c.maxPositions);
  u32(`${a}.embedding_length`, c.hiddenSize);
  u32(`${a}.block_count`, c.numLayers);
  u32(`${a}.feed_forward_length`, c.intermediateSize);
  u32(`${a}.attention.head_count`, c.numHeads);
  u32(`${a}.attention.head_count_kv`, c.numKvHeads);
  u32(`${a}.attention.key_length`, c.headDim);
  u32(`${a}.attention.value_length`, c.headDim);
  f32(`${a}.attention.layer_norm_rms_epsilon`, c.rmsNormEps);
  f32(`${a}.rope.freq_base`, c.ropeTheta);
  if (c.slidingWindow !== null) u32(`${a}.attention.sliding_window`, c.slidingWindow);
  if (c.attnSoftcap !== null) f32(`${a}.attn_logit_softcapping`, c.attnSoftcap);
  if (c.finalSoftcap !== null) f32(`${a}.final_logit_softcapping`, c.finalSoftcap);
  if (c.ropeScaling !== 1) {
    m.set(`${a}.rope.scaling.type`, { type: GgufType.STRING, value: 'linear' });
    f32(`${a}.rope.scaling.factor`, c.ropeScaling);
  }
  return m;
}

/** GGUF tokenizer metadata for a vocabulary (SentencePiece "llama" model as llama.cpp expects). */
export function ggufVocabMetadata(v: VocabSpec): Map<string, GgufTypedValue> {
  const m = new Map<string, GgufTypedValue>();
  m.set('tokenizer.ggml.model', { type: GgufType.STRING, value: 'llama' });
  m.set('tokenizer.ggml.tokens', ggufTyped(v.pieces));
  m.set('tokenizer.ggml.scores', ggufTyped(v.scores));
  m.set('tokenizer.ggml.token_type', ggufTyped(v.types));
  m.set('tokenizer.ggml.bos_token_id', { type: GgufType.UINT32, value: v.bosId });
  m.set('tokenizer.ggml.eos_token_id', { type: GgufType.UINT32, value: v.eosId });
  m.set('tokenizer.ggml.unknown_token_id', { type: GgufType.UINT32, value: v.unkId });
  m.set('tokenizer.ggml.padding_token_id', { type: GgufType.UINT32, value: v.padId });
  m.set('tokenizer.ggml.add_bos_token', { type: GgufType.BOOL, value: true });
  m.set('tokenizer.ggml.add_eos_token', { type: GgufType.BOOL, value: false });
  // Gemma's SentencePiece model has no dummy prefix (llama.cpp's converter writes this key too)
  m.set('tokenizer.ggml.add_space_prefix', { type: GgufType.BOOL, value: false });
  return m;
}

/** The whole synthetic GGUF as a byte stream. */
export function synthGguf(c: GemmaConfig, o: SynthOptions, name = 'synthetic-gemma', chatTemplate?: string): AsyncGenerator<Uint8Array> {
  const meta = ggufConfigMetadata(c, name);
  const fileType = o.dtype === 'f32' ? 0 : o.dtype === 'f16' ? 1 : 32; // llama_ftype: ALL_F32, MOSTLY_F16, MOSTLY_BF16
  meta.set('general.file_type', { type: GgufType.UINT32, value: fileType });
  for (const [k, v] of ggufVocabMetadata(synthVocab(c.vocabSize))) meta.set(k, v);
  if (chatTemplate) meta.set('tokenizer.chat_template', { type: GgufType.STRING, value: chatTemplate });
  return writeGguf(meta, synthGgufTensors(c, o));
}

export interface SynthDirFile { name: string; data: Uint8Array | string | (() => AsyncIterable<Uint8Array>) }

/**
 * The files of a synthetic HF-style directory. Weights are split into `shards` files
 * (with model.safetensors.index.json) when shards > 1.
 */
export function synthHfDir(c: GemmaConfig, o: SynthOptions, shards = 1, extra: { tokenizerJson?: string; chatTemplate?: string } = {}): SynthDirFile[] {
  const cfg = { ...configToHf(c), torch_dtype: o.dtype === 'f32' ? 'float32' : o.dtype === 'f16' ? 'float16' : 'bfloat16' };
  const tensors = synthHfTensors(c, o);
  const groups: (typeof tensors)[] = Array.from({ length: shards }, () => []);
  tensors.forEach((t, i) => groups[Math.floor((i * shards) / tensors.length)]!.push(t));
  const names = shards === 1 ? ['model.safetensors'] : groups.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`);
  const files: SynthDirFile[] = [{ name: 'config.json', data: JSON.stringify(cfg, null, 2) + '\n' }];
  groups.forEach((g, i) => files.push({
    name: names[i]!,
    data: async function* () {
      yield safetensorsHeader(g, { format: 'pt' });
      for (const t of g) yield t.data();
    },
  }));
  if (shards > 1) {
    const weight_map: Record<string, string> = {};
    groups.forEach((g, i) => { for (const t of g) weight_map[t.name] = names[i]!; });
    files.push({ name: 'model.safetensors.index.json', data: JSON.stringify({ metadata: {}, weight_map }, null, 2) });
  }
  if (extra.tokenizerJson) files.push({ name: 'tokenizer.json', data: extra.tokenizerJson });
  const tc: Record<string, unknown> = { bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false };
  if (extra.chatTemplate) tc.chat_template = extra.chatTemplate;
  files.push({ name: 'tokenizer_config.json', data: JSON.stringify(tc, null, 2) });
  return files;
}
