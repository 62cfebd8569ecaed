/** kvStore (rows into ring-buffer slots) and attention over the GPU-resident cache. */
import { GemmaError } from '../../../errors.js';
import { type AttentionParams, expectShape } from '../../backend.js';
import { type KernelSpec, memoSpec } from '../pipelines.js';
import { Params } from '../recorder.js';
import type { BufferPool, GpuKvLayer, GpuTensor } from '../resources.js';
import { bind, grid, type OpContext, WG } from './context.js';

/** invocations per attention workgroup: one per output dimension, 8 per key when scoring */
const ATT_WG = 256;
/** largest head dimension attention.wgsl handles (one invocation per dimension) */
export const MAX_HEAD_DIM = ATT_WG;
/** keys attention.wgsl scores at a time (a split should hold at least one such chunk) */
export const ATTENTION_CHUNK = ATT_WG / 8;

export const KV_STORE_SPEC: KernelSpec = { shader: 'kv_store', defines: { WG }, bindings: ['read', 'read', 'rw', 'rw'], kind: 'kv' };
/** attention.wgsl with `wg` invocations (>= the head dimension), split or not */
export function attentionSpec(wg: number, split: boolean): KernelSpec {
  return memoSpec(`attention|${wg}|${split}`, () => ({ shader: 'attention', defines: { WG: wg, SPLIT: split }, bindings: ['read', 'read', 'read', 'rw'], kind: 'attention' }));
}

/**
 * Invocations per attention workgroup: ATT_WG on a GPU (32 keys scored per chunk); on a CPU
 * driver the smallest power of two >= the head dimension, at least 64, because there a
 * workgroup's barriers cost in proportion to its invocations (lavapipe runs each barrier as a
 * switch through every invocation) and the idle ones of a 256-wide group are pure overhead.
 */
export function attentionWg(software: boolean, headDim: number): number {
  if (!software) return ATT_WG;
  let wg = 64;
  while (wg < headDim) wg *= 2;
  return Math.min(wg, ATT_WG);
}
export const ATTENTION_COMBINE_SPEC: KernelSpec = { shader: 'attention_combine', defines: { WG }, bindings: ['read', 'rw'], kind: 'attention' };

/** decode (at most this many query rows) splits the keys across workgroups (flash-decoding) */
const SPLIT_MAX_ROWS = 4;
const MAX_SPLITS = 32;
/** workgroups a split attention aims for: enough to spread over a GPU's compute units */
const TARGET_WORKGROUPS = 128;

/**
 * How many key splits: one workgroup per (row, head) leaves most of a GPU idle when a few
 * query rows attend over a long cache (Gemma 3 1B decodes with 4 heads: 4 workgroups), so the
 * keys are split until there are about TARGET_WORKGROUPS workgroups, each split taking
 * >= splitKeys keys, with at most 32 splits.
 */
export function attentionSplits(rows: number, heads: number, keys: number, splitKeys: number): { splits: number; span: number } {
  if (rows > SPLIT_MAX_ROWS || keys <= splitKeys) return { splits: 1, span: keys };
  const want = Math.max(1, Math.ceil(TARGET_WORKGROUPS / (rows * heads)));
  const splits = Math.min(MAX_SPLITS, Math.ceil(keys / splitKeys), want);
  if (splits <= 1) return { splits: 1, span: keys };
  return { splits, span: Math.ceil(keys / splits) };
}

export function kvStore(c: OpContext, cache: GpuKvLayer, k: GpuTensor, v: GpuTensor, startPos: number): void {
  expectShape('kvStore k', k, k.rows, cache.kvDim);
  expectShape('kvStore v', v, k.rows, cache.kvDim);
  if (!(Number.isInteger(startPos) && startPos >= 0)) throw new GemmaError('BAD_ARGUMENT', `kvStore: startPos ${startPos}`);
  const n = k.rows * cache.kvDim;
  if (n === 0) return;
  const kern = c.kernels.get(KV_STORE_SPEC);
  // a packed cache takes one element pair per invocation
  const g = grid(Math.ceil((cache.packed ? n / 2 : n) / WG));
  const p = new Params().u32(k.rows).u32(cache.kvDim).u32(cache.capacity).u32(startPos).u32(g[0]);
  c.rec.dispatch(kern, [bind(k), bind(v), { buffer: cache.k }, { buffer: cache.v }], p, g);
}

export function attention(c: OpContext, pool: BufferPool, out: GpuTensor, q: GpuTensor, cache: GpuKvLayer, p: AttentionParams, splitKeys: number): void {
  const { numHeads: H, numKvHeads: G, headDim: D } = p;
  expectShape('attention q', q, q.rows, H * D);
  expectShape('attention out', out, q.rows, H * D);
  if (cache.kvDim !== G * D) throw new GemmaError('BAD_SHAPE', `attention: cache kvDim ${cache.kvDim} != ${G} x ${D}`);
  if (H % G !== 0) throw new GemmaError('BAD_SHAPE', `attention: ${H} query heads are not a multiple of ${G} KV heads`);
  if (D > MAX_HEAD_DIM || D % 4 !== 0) throw new GemmaError('BAD_SHAPE', `attention: head dimension ${D} is not supported on WebGPU (a multiple of 4, at most ${MAX_HEAD_DIM})`);
  if (!(Number.isInteger(p.startPos) && p.startPos >= 0)) throw new GemmaError('BAD_ARGUMENT', `attention: startPos ${p.startPos}`);
  if (p.window !== null && !(Number.isInteger(p.window) && p.window >= 1)) throw new GemmaError('BAD_ARGUMENT', `attention: window ${p.window}`);
  if (p.softcap !== null && !(p.softcap > 0)) throw new GemmaError('BAD_ARGUMENT', `attention: softcap ${p.softcap}`);
  if (q.rows === 0) return;
  if (q.rows > 65535 || H > 65535) throw new GemmaError('LIMIT', `attention: ${q.rows} rows x ${H} heads is too large for one dispatch`);
  // keys the last row attends to (the most of any row)
  const last = p.startPos + q.rows - 1;
  const keys = Math.min(last + 1, cache.capacity, p.window ?? Infinity);
  const { splits, span } = attentionSplits(q.rows, H, keys, splitKeys);
  const prm = new Params()
    .u32(q.rows).u32(H).u32(D).u32(cache.kvDim).u32(cache.capacity).u32(p.startPos).u32(H / G)
    .u32(p.window ?? 0).f32(p.scale).f32(p.softcap ?? 0).u32(span).u32(splits);
  const wg = attentionWg(c.gpu.software, D);
  if (splits === 1) {
    c.rec.dispatch(c.kernels.get(attentionSpec(wg, false)), [bind(q), { buffer: cache.k }, { buffer: cache.v }, bind(out)], prm, [H, q.rows]);
    return;
  }
  const partBytes = q.rows * H * splits * (D + 2) * 4;
  const part = pool.acquire(partBytes);
  const pb = { buffer: part, offset: 0, size: partBytes };
  c.rec.dispatch(c.kernels.get(attentionSpec(wg, true)), [bind(q), { buffer: cache.k }, { buffer: cache.v }, pb], prm, [H, q.rows, splits]);
  c.rec.dispatch(c.kernels.get(ATTENTION_COMBINE_SPEC), [pb, bind(out)], new Params().u32(q.rows).u32(H).u32(D).u32(splits), [H, q.rows]);
  pool.release(part); // later work that reuses it is ordered after these dispatches
}
