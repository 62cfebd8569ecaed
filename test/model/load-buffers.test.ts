/**
 * The weight loader reads one tensor ahead, and into two lent buffers used in turn where the
 * backend copies what it uploads (Backend.copiesWeightData). A source that fills the lent
 * buffer at once (as a fast read may) makes any reuse mistake show: the next read would then
 * overwrite bytes not yet uploaded.
 */
import { describe, expect, it } from 'vitest';
import { readGguf } from '../../src/format/gguf.js';
import { ggufStore } from '../../src/format/store.js';
import { BufferSource, type ByteSource } from '../../src/io/source.js';
import type { Backend, WeightData } from '../../src/kernels/backend.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { configFromGguf } from '../../src/model/gguf-config.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { GemmaModel } from '../../src/model/model.js';
import { synthGgufBytes, testTokens } from '../helpers/models.js';

/** reads land in the lent buffer synchronously, before the promise is even returned */
class EagerSource implements ByteSource {
  lent = 0;
  constructor(private readonly inner: BufferSource) {}
  get name(): string { return this.inner.name; }
  get size(): number { return this.inner.size; }
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const b = this.inner.bytes.subarray(offset, offset + length);
    if (!into) return Promise.resolve(b.slice());
    this.lent++;
    into.set(b);
    return Promise.resolve(into.subarray(0, length));
  }
}

/** the reference backend, but copying each weight's bytes at upload (as wasm and WebGPU do) */
class CopyingReference extends ReferenceBackend {
  readonly copiesWeightData = true;
  override uploadWeight(w: WeightData) { return super.uploadWeight({ ...w, data: w.data.slice() }); }
}

async function logits(bytes: Uint8Array, backend: Backend, eager: boolean): Promise<{ out: Float32Array; lent: number }> {
  const src = eager ? new EagerSource(new BufferSource(bytes, 'm.gguf')) : new BufferSource(bytes, 'm.gguf');
  const f = await readGguf(src);
  const cfg = configFromGguf(f);
  const model = new GemmaModel(cfg, backend, await loadWeights(ggufStore(f), cfg, backend), { contextLength: 32 });
  try {
    return { out: await model.logits(testTokens(8, cfg.vocabSize, 1), { allLogits: true }), lent: src instanceof EagerSource ? src.lent : 0 };
  } finally { model.dispose(); }
}

describe('weights read into lent buffers', () => {
  for (const preset of ['tiny-gemma', 'tiny-gemma-3']) {
    it(`${preset}: the same logits as fresh reads, every tensor read into a lent buffer`, async () => {
      const bytes = await synthGgufBytes(preset, 'f32', 5);
      const fresh = await logits(bytes, new ReferenceBackend(), false);
      const lent = await logits(bytes, new CopyingReference(), true);
      const f = await readGguf(new BufferSource(bytes));
      expect(lent.lent).toBe(f.tensors.length);
      expect(Array.from(lent.out)).toEqual(Array.from(fresh.out));
      // a backend that keeps the arrays it is given is never lent a buffer
      expect((await logits(bytes, new ReferenceBackend(), true)).lent).toBe(0);
    });
  }
});
