/** rmsNorm over chunks of n = w.length columns (whole rows, or heads for QK-norm); out may alias x. */
import { GemmaError } from '../../../errors.js';
import { expectShape } from '../../backend.js';
import { type KernelSpec, memoSpec } from '../pipelines.js';
import { Params } from '../recorder.js';
import type { GpuDType } from '../weight-layout.js';
import type { GpuTensor, GpuWeight } from '../resources.js';
import { bind, grid, type OpContext, WG } from './context.js';

/** invocations per workgroup: 64 for chunks of up to 1024 values (QK-norm heads), else 256 */
export function rmsNormWg(n: number): number { return n > 1024 ? 256 : WG; }

export function rmsNormSpec(dtype: GpuDType, inplace: boolean, wg = WG): KernelSpec {
  return memoSpec(`rmsnorm|${dtype}|${inplace}|${wg}`, () => ({
    shader: 'rmsnorm', defines: { DTYPE: dtype, WG: wg, INPLACE: inplace },
    bindings: inplace ? ['read', 'rw'] : ['read', 'read', 'rw'], kind: 'rmsnorm',
  }));
}

export function rmsNorm(c: OpContext, out: GpuTensor, x: GpuTensor, w: GpuWeight, eps: number): void {
  const n = w.shape[0]!;
  if (w.shape.length !== 1 || x.cols % n !== 0) throw new GemmaError('BAD_SHAPE', `rmsNorm weight [${w.shape}] does not divide ${x.cols} columns`, { tensor: w.name });
  expectShape('rmsNorm out', out, x.rows, x.cols);
  const groups = x.rows * (x.cols / n);
  if (groups === 0) return;
  const inplace = out === x;
  const k = c.kernels.get(rmsNormSpec(w.layout.gpuDtype, inplace, rmsNormWg(n)));
  const ch = w.chunks[0]!;
  const g = grid(groups);
  const p = new Params().u32(groups).u32(n).f32(eps).u32(g[0]).u32(w.layout.rowWords).u32(ch.scaleOff).u32(w.layout.nb);
  c.rec.dispatch(k, inplace ? [{ buffer: ch.buffer }, bind(out)] : [{ buffer: ch.buffer }, bind(x), bind(out)], p, g);
}
