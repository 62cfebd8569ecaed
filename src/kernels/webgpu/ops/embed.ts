/** embed: out[t] = dequant(table[tokens[t]]) * scale; one dispatch per table chunk holding a token. */
import { GemmaError } from '../../../errors.js';
import { expectShape } from '../../backend.js';
import { type KernelSpec, memoSpec } from '../pipelines.js';
import { Params } from '../recorder.js';
import type { GpuDType } from '../weight-layout.js';
import type { GpuTensor, GpuWeight } from '../resources.js';
import { bind, grid, type OpContext, WG } from './context.js';

export function embedSpec(dtype: GpuDType): KernelSpec {
  return memoSpec(`embed|${dtype}`, () => ({ shader: 'embed', defines: { DTYPE: dtype, WG }, bindings: ['read', 'read', 'rw'], kind: 'embed' }));
}

export function embed(c: OpContext, out: GpuTensor, table: GpuWeight, tokens: Int32Array, scale: number): void {
  expectShape('embed out', out, tokens.length, table.cols);
  for (const id of tokens) {
    if (!(id >= 0 && id < table.rows)) throw new GemmaError('BAD_ARGUMENT', `token id ${id} outside the vocabulary (0..${table.rows - 1})`);
  }
  if (tokens.length === 0) return;
  const L = table.layout;
  const k4 = Math.ceil(table.cols / 4);
  const k = c.kernels.get(embedSpec(L.gpuDtype));
  const ids = c.rec.data(new Uint8Array(Uint32Array.from(tokens).buffer));
  const g = grid(Math.ceil((tokens.length * k4) / WG));
  for (const ch of table.chunks) {
    if (!tokens.some((t) => t >= ch.rowBase && t < ch.rowBase + ch.rows)) continue;
    const p = new Params()
      .u32(tokens.length).u32(table.cols).u32(k4).u32(ch.rowBase).u32(ch.rows).f32(scale)
      .u32(L.rowWords).u32(ch.scaleOff).u32(L.nb).u32(g[0]);
    c.rec.dispatch(k, [{ buffer: ch.buffer }, ids, bind(out)], p, g);
  }
}
