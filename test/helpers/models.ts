/** Synthetic test models written to a temp dir (generated from seeds by the project's own generator). */
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ggufToBuffer, readGguf } from '../../src/format/gguf.js';
import { ggufStore } from '../../src/format/store.js';
import { BufferSource } from '../../src/io/source.js';
import type { Backend } from '../../src/kernels/backend.js';
import { logSoftmax } from '../../src/kernels/reference/ops.js';
import { getPreset, type GemmaConfig } from '../../src/model/config.js';
import { configFromGguf } from '../../src/model/gguf-config.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { GemmaModel } from '../../src/model/model.js';
import { type FloatDType, synthGguf } from '../../src/model/synth.js';

export const TEST_DIR = join(tmpdir(), `gemma-ts-test-${process.pid}`);
mkdirSync(TEST_DIR, { recursive: true });

/** std of synthetic embeddings in parity tests: logits spread ~1 nat, so errors are visible */
export const PARITY_EMBED_STD = 0.1;

export async function synthGgufBytes(preset: string | GemmaConfig, dtype: FloatDType, seed = 1, embedStd = PARITY_EMBED_STD): Promise<Uint8Array> {
  const cfg = typeof preset === 'string' ? getPreset(preset) : preset;
  return ggufToBuffer(synthGguf(cfg, { seed, dtype, embedStd }));
}

export async function synthGgufFile(preset: string, dtype: FloatDType, seed = 1, embedStd = PARITY_EMBED_STD): Promise<string> {
  const path = join(TEST_DIR, `${preset}-${dtype}-s${seed}-e${embedStd}.gguf`);
  await writeFile(path, await synthGgufBytes(preset, dtype, seed, embedStd));
  return path;
}

export async function modelFromGgufBytes(buf: Uint8Array, backend: Backend, contextLength = 128, patch?: (c: GemmaConfig) => void): Promise<GemmaModel> {
  const f = await readGguf(new BufferSource(buf, 'test.gguf'));
  const cfg = configFromGguf(f);
  patch?.(cfg);
  const w = await loadWeights(ggufStore(f), cfg, backend);
  return new GemmaModel(cfg, backend, w, { contextLength });
}

/** deterministic token sequence: bos then ids spread over the vocabulary */
export function testTokens(n: number, vocab: number, salt = 0): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 2 : 6 + ((i * 37 + salt * 11) % (vocab - 6))));
}

export function logSoftmaxRows(logits: Float32Array, V: number): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let p = 0; p < logits.length / V; p++) {
    const r = new Float64Array(V);
    logSoftmax(logits, p * V, V, r);
    rows.push(r);
  }
  return rows;
}

export interface Agreement { maxAbs: number; top1: number; positions: number; meanKl: number }

/** compare per-position log-prob rows (a = ours, b = reference) */
export function compareLogProbs(a: Float64Array[], b: Float64Array[]): Agreement {
  let maxAbs = 0, top1 = 0, kl = 0;
  for (let p = 0; p < a.length; p++) {
    const x = a[p]!, y = b[p]!;
    let ax = 0, ay = 0, k = 0;
    for (let i = 0; i < x.length; i++) {
      if (x[i]! > x[ax]!) ax = i;
      if (y[i]! > y[ay]!) ay = i;
      if (Number.isFinite(y[i]!)) { maxAbs = Math.max(maxAbs, Math.abs(x[i]! - y[i]!)); k += Math.exp(y[i]!) * (y[i]! - x[i]!); }
    }
    if (ax === ay) top1++;
    kl += k;
  }
  return { maxAbs, top1: top1 / a.length, positions: a.length, meanKl: kl / a.length };
}
