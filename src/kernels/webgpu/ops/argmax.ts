/** argmax of each row on the GPU; only rows x 4 bytes come back. */
import type { KernelSpec } from '../pipelines.js';
import { Params } from '../recorder.js';
import type { BufferPool, GpuTensor } from '../resources.js';
import { bind, type OpContext } from './context.js';

const ARGMAX_WG = 256;
export const ARGMAX_SPEC: KernelSpec = { shader: 'argmax', defines: { WG: ARGMAX_WG }, bindings: ['read', 'rw'], kind: 'argmax' };

export async function argmax(c: OpContext, pool: BufferPool, x: GpuTensor): Promise<Int32Array> {
  if (x.rows === 0) return new Int32Array(0);
  const res = pool.acquire(x.rows * 4);
  try {
    const k = c.kernels.get(ARGMAX_SPEC);
    // one workgroup per row along x (rows <= 65535: a batch of logits rows)
    c.rec.dispatch(k, [bind(x), { buffer: res, offset: 0, size: x.rows * 4 }], new Params().u32(x.rows).u32(x.cols), [x.rows]);
    return new Int32Array(await c.rec.readback(res, 0, x.rows * 4));
  } finally {
    pool.release(res);
  }
}
