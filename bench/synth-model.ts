/**
 * Synthetic Gemma GGUFs in any storage type, for the benchmarks and the wasm parity tests:
 * the project's seeded synthetic weights (src/model/synth.ts), every matrix stored in one
 * dtype ("pure", like llama-quantize --pure), norms in f32. Quantized types go through the
 * ggml-exact block codecs of src/quant, so llama.cpp reads exactly the weights we read.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { writeFileChunks } from '../src/io/node-write.js';
import { dirname } from 'node:path';
import { GgufType, type GgufWriteTensor, ggufToBuffer, writeGguf } from '../src/format/gguf.js';
import { type GemmaConfig, getPreset } from '../src/model/config.js';
import { encodeFloats, ggufConfigMetadata, ggufVocabMetadata, synthGgufTensors, type SynthOptions } from '../src/model/synth.js';
import { synthVocab } from '../src/model/synth-vocab.js';
import { tensorSpecs } from '../src/model/weights.js';
import { getCodec } from '../src/quant/index.js';
import type { DType } from '../src/tensor/dtype.js';

/** llama.cpp recipes (mixed files): made from the synthetic F16 file by our quantizer */
export const MIXED_RECIPES = new Set(['q4_k_s', 'q4_k_m', 'q5_k_s', 'q5_k_m']);

/**
 * The benchmarks' model file (compare-llama.ts, profile-decode.ts): a Gemma 3 size (270m, 1b,
 * 4b) or any preset name, every matrix in one block type or a recipe of MIXED_RECIPES, seed 1,
 * written once to .cache/bench/
 */
export async function benchModelFile(size: string, dtype: string): Promise<{ name: string; cfg: GemmaConfig; path: string }> {
  const name = size.startsWith('gemma-') ? size : `gemma-3-${size}`;
  const cfg = getPreset(name);
  const path = `.cache/bench/${name}-${dtype}.gguf`;
  if (MIXED_RECIPES.has(dtype)) {
    const f16 = await synthModelFile(`.cache/bench/${name}-f16.gguf`, cfg, 'f16', { seed: 1 });
    const { quantizeModelFile } = await import('../src/cli/commands/quantize.js');
    if (!existsSync(path)) await quantizeModelFile(f16, path, dtype);
  } else {
    await synthModelFile(path, cfg, dtype as DType, { seed: 1 });
  }
  return { name, cfg, path };
}

/** llama_ftype (llama.h) of a pure model of one type */
const FTYPE: Partial<Record<DType, number>> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q8_0: 7, q5_0: 8, q5_1: 9, q4_k: 15, q5_k: 17, q6_k: 18, bf16: 32,
};

export interface SynthModelOptions {
  seed?: number;
  /** std of the embedding (default 0.1 for tiny models: logits with a real spread) */
  embedStd?: number;
  std?: number;
}

/** the GGUF tensors of a synthetic model with every matrix in `dtype` */
export function synthTensors(c: GemmaConfig, dtype: DType, o: SynthModelOptions = {}): GgufWriteTensor[] {
  const so: SynthOptions = { seed: o.seed ?? 1, dtype: 'f32', embedStd: o.embedStd, std: o.std };
  const specs = tensorSpecs(c);
  return synthGgufTensors(c, so).map((t, i) => {
    if (specs[i]!.isNorm || dtype === 'f32') return t;
    const f32 = t.data as () => Uint8Array;
    return {
      ...t, dtype,
      data: () => {
        const b = f32();
        const v = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
        if (dtype === 'f16' || dtype === 'bf16') return encodeFloats(dtype, v);
        const codec = getCodec(dtype);
        const [rows, k] = t.shape as [number, number];
        const rb = (k / codec.blockSize) * codec.blockBytes;
        const out = new Uint8Array(rows * rb);
        for (let r = 0; r < rows; r++) codec.quantizeRow(v, r * k, k, out, r * rb);
        return out;
      },
    };
  });
}

export function synthModelGguf(c: GemmaConfig, dtype: DType, o: SynthModelOptions = {}, name = 'synthetic-gemma'): AsyncGenerator<Uint8Array> {
  const meta = ggufConfigMetadata(c, name);
  meta.set('general.file_type', { type: GgufType.UINT32, value: FTYPE[dtype] ?? 0 });
  for (const [k, v] of ggufVocabMetadata(synthVocab(c.vocabSize))) meta.set(k, v);
  return writeGguf(meta, synthTensors(c, dtype, o));
}

export function synthModelBytes(c: GemmaConfig, dtype: DType, o: SynthModelOptions = {}): Promise<Uint8Array> {
  return ggufToBuffer(synthModelGguf(c, dtype, o));
}

/** write the model to `path` unless it exists (a cache: generating a 1B model takes a while) */
export async function synthModelFile(path: string, c: GemmaConfig, dtype: DType, o: SynthModelOptions = {}): Promise<string> {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  await writeFileChunks(path, synthModelGguf(c, dtype, o));
  return path;
}
