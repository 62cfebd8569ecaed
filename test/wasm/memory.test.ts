// wasm32 memory plan: the models the issue names fit in the 4 GiB address space with their
// KV cache at 4096 tokens and prefill activations; the next size up fails with a clear
// error. Allocation only (pages are not touched), so this is quick and light.
import { describe, expect, it } from 'vitest';
import { isGemmaError } from '../../src/errors.js';
import { WasmHeap, MAX_PAGES, PAGE, RESERVED } from '../../src/kernels/wasm/heap.js';
import { layoutOf, packedBytes } from '../../src/kernels/wasm/layout.js';
import { type GemmaConfig, getPreset } from '../../src/model/config.js';
import { tensorSpecs } from '../../src/model/weights.js';
import type { DType } from '../../src/tensor/dtype.js';

/** place a model's weights (matrices in `dtype`, `head` for the embedding, f32 norms), its
 *  KV cache (f32, sliding layers keep window + one 128-token chunk) and prefill activations */
function place(heap: WasmHeap, c: GemmaConfig, dtype: DType, head: DType, ctx: number): void {
  for (const s of tensorSpecs(c)) {
    if (s.isNorm) { heap.alloc(s.shape[0]! * 4, 'weight', s.gguf); continue; }
    const dt = s.role === 'embed' ? head : dtype;
    heap.alloc(packedBytes(layoutOf(dt), s.shape[0]!, s.shape[1]!), 'weight', s.gguf);
  }
  const kvDim = c.numKvHeads * c.headDim;
  for (const t of c.layerTypes) {
    const cap = t === 'sliding' && c.slidingWindow ? Math.min(ctx, c.slidingWindow + 127) : ctx;
    heap.alloc(cap * kvDim * 4, 'kv', 'k'); heap.alloc(cap * kvDim * 4, 'kv', 'v');
  }
  const widest = Math.max(c.hiddenSize, c.intermediateSize, c.numHeads * c.headDim);
  for (let i = 0; i < 12; i++) heap.alloc(128 * widest * 4, 'tensor', 'activation');
  heap.alloc(c.vocabSize * 4, 'tensor', 'logits');
}

const fresh = () => new WasmHeap(new WebAssembly.Memory({ initial: RESERVED / PAGE + 1, maximum: MAX_PAGES, shared: true } as WebAssembly.MemoryDescriptor));

describe('wasm32 memory plan', () => {
  it('Gemma 2 2B Q8_0 with a 4096-token cache fits', () => {
    const heap = fresh();
    place(heap, getPreset('gemma-2-2b'), 'q8_0', 'q8_0', 4096);
    expect(heap.inUse.weight).toBeGreaterThan(2.7e9);
    expect(heap.totalBytes).toBeLessThanOrEqual(2 ** 32);
  });

  it('Gemma 3 4B Q4_K (Q6_K head) with a 4096-token cache fits', () => {
    const heap = fresh();
    place(heap, getPreset('gemma-3-4b'), 'q4_k', 'q6_k', 4096);
    expect(heap.inUse.weight).toBeGreaterThan(2.3e9);
  });

  it('Gemma 2 9B Q4_K does not: a BACKEND error that names the 4 GiB limit and the usage', () => {
    const heap = fresh();
    let err: unknown;
    try { place(heap, getPreset('gemma-2-9b'), 'q4_k', 'q6_k', 4096); } catch (e) { err = e; }
    expect(isGemmaError(err, 'BACKEND')).toBe(true);
    expect((err as Error).message).toMatch(/limited to 4 GiB.*weights \d+ MiB/);
  });

  it('frees coalesce: a freed region is reused by a later allocation of the same size', () => {
    const heap = fresh();
    const a = heap.alloc(1000, 'tensor', 'a'), b = heap.alloc(5000, 'tensor', 'b'), c = heap.alloc(300, 'tensor', 'c');
    heap.release(a); heap.release(b);
    expect(heap.alloc(6000, 'tensor', 'ab')).toBe(a);
    heap.release(c);
    expect(heap.inUse.tensor).toBe(Math.ceil(6000 / 64) * 64);
  });
});
