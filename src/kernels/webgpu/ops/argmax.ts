/** argmax and top-k of each row on the GPU; only the indices (and values) come back. */
import { GemmaError } from '../../../errors.js';
import type { KernelSpec } from '../pipelines.js';
import { Params } from '../recorder.js';
import type { BufferPool, GpuTensor } from '../resources.js';
import { bind, type OpContext } from './context.js';

const ARGMAX_WG = 256;
export const ARGMAX_SPEC: KernelSpec = { shader: 'argmax', defines: { WG: ARGMAX_WG }, bindings: ['read', 'rw'], kind: 'argmax' };
export const TOPK_SPEC: KernelSpec = { shader: 'argmax', defines: { WG: ARGMAX_WG, TOPK: true }, bindings: ['rw', 'rw'], kind: 'argmax' };
export const ARGMAX_PART_SPEC: KernelSpec = { shader: 'argmax_parts', defines: { WG: ARGMAX_WG, PART: true }, bindings: ['read', 'rw'], kind: 'argmax' };
export const ARGMAX_MERGE_SPEC: KernelSpec = { shader: 'argmax_parts', defines: { WG: ARGMAX_WG, PART: false }, bindings: ['read', 'rw'], kind: 'argmax' };
/** rows longer than this are scanned by several workgroups (argmax_parts.wgsl) */
export const ARGMAX_SPLIT_COLS = 8192;
/** columns per workgroup of the first pass */
const ARGMAX_SPAN = 4096;

/** top-k runs one selection pass per rank: meant for sampling's k (tens), not sorting */
export const MAX_TOPK = 1024;

export async function argmax(c: OpContext, pool: BufferPool, x: GpuTensor): Promise<Int32Array> {
  if (x.rows === 0) return new Int32Array(0);
  if (x.rows > 65535) throw new GemmaError('LIMIT', `argmax over ${x.rows} rows`);
  const res = pool.acquire(x.rows * 4);
  const out = { buffer: res, offset: 0, size: x.rows * 4 };
  try {
    if (x.cols <= ARGMAX_SPLIT_COLS) {
      // one workgroup per row (rows: a batch of logits rows)
      c.rec.dispatch(c.kernels.get(ARGMAX_SPEC), [bind(x), out], new Params().u32(x.rows).u32(x.cols).u32(0).u32(0).u32(0).u32(0), [x.rows]);
    } else {
      // a long row: parts of ARGMAX_SPAN columns, each to a (value, index) pair, then a merge
      const parts = Math.ceil(x.cols / ARGMAX_SPAN);
      if (parts > 65535) throw new GemmaError('LIMIT', `argmax over ${x.cols} columns`);
      const bytes = x.rows * parts * 8;
      const pairs = pool.acquire(bytes);
      const pb = { buffer: pairs, offset: 0, size: bytes };
      const prm = new Params().u32(x.rows).u32(x.cols).u32(parts).u32(ARGMAX_SPAN);
      c.rec.dispatch(c.kernels.get(ARGMAX_PART_SPEC), [bind(x), pb], prm, [parts, x.rows]);
      c.rec.dispatch(c.kernels.get(ARGMAX_MERGE_SPEC), [pb, out], prm, [x.rows]);
      pool.release(pairs); // later work that reuses it is ordered after these dispatches
    }
    return new Int32Array(await c.rec.readback(res, 0, x.rows * 4));
  } finally {
    pool.release(res);
  }
}

/**
 * The k largest values of each row, largest first (ties: lower index first; NaN and -inf are
 * never chosen; places past the last finite value get id -1 and value -inf).
 * ids/values: [rows * k], row-major.
 */
export async function topK(c: OpContext, pool: BufferPool, x: GpuTensor, k: number): Promise<{ ids: Int32Array; values: Float32Array }> {
  if (!(Number.isInteger(k) && k >= 1 && k <= Math.min(MAX_TOPK, x.cols))) throw new GemmaError('BAD_ARGUMENT', `topK: k = ${k} (1..${Math.min(MAX_TOPK, x.cols)})`);
  if (x.rows === 0) return { ids: new Int32Array(0), values: new Float32Array(0) };
  if (x.rows > 65535) throw new GemmaError('LIMIT', `topK over ${x.rows} rows`);
  const n = x.rows * k;
  const scratch = pool.acquire(x.bytes);
  const res = pool.acquire(2 * n * 4);
  try {
    c.rec.copy(x.buffer, 0, scratch, 0, x.bytes);
    const kern = c.kernels.get(TOPK_SPEC);
    const bindings = [{ buffer: scratch, offset: 0, size: x.bytes }, { buffer: res, offset: 0, size: 2 * n * 4 }];
    for (let s = 0; s < k; s++) {
      c.rec.dispatch(kern, bindings, new Params().u32(x.rows).u32(x.cols).u32(k).u32(s).u32(0x7fc00000).u32(0xff800000), [x.rows]);
    }
    const out = await c.rec.readback(res, 0, 2 * n * 4);
    return { ids: new Int32Array(out, 0, n), values: new Float32Array(out, n * 4, n) };
  } finally {
    pool.release(scratch);
    pool.release(res);
  }
}
