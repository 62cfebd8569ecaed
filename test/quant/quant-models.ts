/**
 * The synthetic models the quantization tests use (seeded, written by the project's own
 * generator), shared by the tests and by fixtures/gen-llama-quantize.mts.
 *
 * The tiny presets have hidden size 64, so every K-quant tensor falls back to a 32-block
 * type (rows must be whole 256-element super-blocks): they test the fallback rule. The
 * "k256" variants widen the same architectures to hidden 256, 4 heads of 64 and an FFN of
 * 256, so that every matrix (embedding, q/k/v/o, gate/up/down) is K-quantizable.
 */
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ggufToBuffer } from '../../src/format/gguf.js';
import { type GemmaConfig, getPreset } from '../../src/model/config.js';
import { type FloatDType, synthGguf, synthHfDir } from '../../src/model/synth.js';
import { synthTokenizerJson } from '../../src/model/synth-extras.js';

export const SEED = 1;
export const EMBED_STD = 0.1;

/** 'tiny-gemma-3' or 'tiny-gemma-3-k256' */
export function quantTestConfig(name: string): GemmaConfig {
  const k = name.endsWith('-k256');
  const cfg = getPreset(k ? name.slice(0, -5) : name);
  if (!k) return cfg;
  return { ...cfg, hiddenSize: 256, intermediateSize: 256, headDim: 64, queryPreAttnScalar: 64 };
}

export async function quantTestGgufBytes(name: string, dtype: FloatDType): Promise<Uint8Array> {
  return ggufToBuffer(synthGguf(quantTestConfig(name), { seed: SEED, dtype, embedStd: EMBED_STD }, `synthetic-${name}`));
}

export const QUANT_TEST_DIR = join(tmpdir(), `gemma-ts-quant-${process.pid}`);
mkdirSync(QUANT_TEST_DIR, { recursive: true });

export async function quantTestGgufFile(name: string, dtype: FloatDType): Promise<string> {
  const path = join(QUANT_TEST_DIR, `${name}-${dtype}.gguf`);
  await writeFile(path, await quantTestGgufBytes(name, dtype));
  return path;
}

/** llama_ftype of each recipe (llama.h), written down here independently of src/quant/policy.ts */
export const LLAMA_FTYPE: Record<string, number> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q8_0: 7, q5_0: 8, q5_1: 9,
  q4_k_s: 14, q4_k_m: 15, q5_k_s: 16, q5_k_m: 17, q6_k: 18, bf16: 32,
};

const ALL = ['f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k_s', 'q4_k_m', 'q5_k_s', 'q5_k_m', 'q6_k'];

/**
 * Cases compared byte for byte with llama-quantize: (model, source dtype, recipe). A recipe
 * ending in '/pure' is llama-quantize --pure.
 */
export const LLAMA_QUANTIZE_CASES: { model: string; dtype: FloatDType; recipes: string[] }[] = [
  { model: 'tiny-gemma', dtype: 'f32', recipes: ALL },
  { model: 'tiny-gemma-2', dtype: 'f32', recipes: ALL },
  { model: 'tiny-gemma-3', dtype: 'f32', recipes: [...ALL, 'q4_k_m/pure'] },
  { model: 'tiny-gemma-2', dtype: 'bf16', recipes: ['q8_0', 'q4_0', 'q4_k_m'] },
  { model: 'tiny-gemma-k256', dtype: 'f32', recipes: ['q4_0', 'q4_k_s', 'q4_k_m', 'q5_k_m'] },
  { model: 'tiny-gemma-2-k256', dtype: 'f32', recipes: ['q4_k_s', 'q4_k_m', 'q5_k_m'] },
  { model: 'tiny-gemma-3-k256', dtype: 'f32', recipes: [...ALL, 'q4_k_m/pure', 'q5_k_m/pure'] },
  { model: 'tiny-gemma-3-k256', dtype: 'bf16', recipes: ['q4_k_m', 'q6_k'] },
];

/** The same model as a Hugging Face directory (config.json, model.safetensors, tokenizer.json). */
export async function quantTestHfDir(name: string, dtype: FloatDType): Promise<string> {
  const dir = join(QUANT_TEST_DIR, `${name}-${dtype}-hf`);
  mkdirSync(dir, { recursive: true });
  const cfg = quantTestConfig(name);
  for (const f of synthHfDir(cfg, { seed: SEED, dtype, embedStd: EMBED_STD }, 1, { tokenizerJson: synthTokenizerJson(cfg.vocabSize) })) {
    const data = typeof f.data === 'function' ? await collect(f.data()) : f.data;
    await writeFile(join(dir, f.name), data);
  }
  return dir;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c.slice());
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}
