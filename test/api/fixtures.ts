/** Tiny synthetic models for the API tests (seeded; the generator lives in src/model/synth.ts). */
import { loadModel, type Gemma, type LoadModelOptions } from '../../src/index.js';
import { synthGgufBytes } from '../helpers/models.js';

const cache = new Map<string, Promise<Uint8Array>>();

/** GGUF bytes of a synthetic preset with the synthetic tokenizer and Gemma's chat template. */
export function tinyGguf(preset = 'tiny-gemma-3', seed = 1, embedStd = 0.1): Promise<Uint8Array> {
  const key = `${preset}/${seed}/${embedStd}`;
  if (!cache.has(key)) cache.set(key, synthGgufBytes(preset, 'f32', seed, embedStd));
  return cache.get(key)!;
}

export async function tinyModel(opts: LoadModelOptions & { preset?: string; seed?: number; embedStd?: number } = {}): Promise<Gemma> {
  const { preset, seed, embedStd, ...lo } = opts;
  const bytes = await tinyGguf(preset, seed, embedStd);
  return loadModel(bytes.slice(), { backend: 'reference', contextLength: 128, ...lo });
}

export function argmax(x: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

export function logSoftmaxRef(x: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(x));
  const lse = m + Math.log(Array.from(x).reduce((s, v) => s + Math.exp(v - m), 0));
  return Array.from(x, (v) => v - lse);
}

export async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of it) out.push(c);
  return out;
}
