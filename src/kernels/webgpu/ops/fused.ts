/**
 * The fusions the forward pass uses when a backend offers them (Backend.qkRopeStore,
 * Backend.residualNorm): fewer dispatches and memory passes per layer. Each returns false when
 * its kernel does not apply (non-f32 norm weights, head dimensions it does not handle); the
 * backend then runs the plain ops.
 */
import { GemmaError } from '../../../errors.js';
import { expectShape, type RopeParams } from '../../backend.js';
import { type KernelSpec, memoSpec } from '../pipelines.js';
import { type Binding, Params } from '../recorder.js';
import type { GpuKvLayer, GpuTensor, GpuWeight } from '../resources.js';
import { bind, grid, type OpContext, WG } from './context.js';
import { rmsNormWg } from './norm.js';
import { ropeTableBinding } from './rope.js';

export function residualNormSpec(post: boolean, wg: number): KernelSpec {
  return memoSpec(`residual_norm|${post}|${wg}`, () => ({
    shader: 'residual_norm', defines: { WG: wg, POST: post },
    bindings: post ? ['rw', 'read', 'read', 'rw', 'read'] : ['rw', 'read', 'read', 'rw'], kind: 'rmsnorm',
  }));
}

export function qkRopeStoreSpec(qkNorm: boolean): KernelSpec {
  return memoSpec(`qk_rope_store|${qkNorm}`, () => ({
    shader: 'qk_rope_store', defines: { WG, QKNORM: qkNorm },
    bindings: qkNorm ? ['read', 'rw', 'read', 'read', 'rw', 'rw', 'read', 'read'] : ['read', 'rw', 'read', 'read', 'rw', 'rw'], kind: 'rope',
  }));
}

/** an f32 vector weight of length n as a binding (the f32 layout keeps it at word 0), or null */
function f32Vector(w: GpuWeight, n: number): Binding | null {
  if (w.layout.gpuDtype !== 'f32' || w.shape.length !== 1 || w.shape[0] !== n || w.chunks.length !== 1) return null;
  return { buffer: w.chunks[0]!.buffer, offset: 0, size: n * 4 };
}

/** h = h + (post ? RMSNorm(o) post : o); x = RMSNorm(h) next. False: not applicable. */
export function residualNorm(c: OpContext, h: GpuTensor, o: GpuTensor, post: GpuWeight | null, x: GpuTensor, next: GpuWeight, eps: number): boolean {
  const n = h.cols;
  expectShape('residualNorm o', o, h.rows, n);
  expectShape('residualNorm x', x, h.rows, n);
  if (h === o || h === x || o === x) throw new GemmaError('BAD_ARGUMENT', 'residualNorm: h, o and x must be distinct tensors');
  const wn = f32Vector(next, n), wp = post ? f32Vector(post, n) : null;
  if (!wn || (post && !wp)) return false;
  if (h.rows === 0) return true;
  const wg = rmsNormWg(n);
  const k = c.kernels.get(residualNormSpec(post !== null, wg));
  const g = grid(h.rows);
  const b: Binding[] = [bind(h), bind(o), wn, bind(x)];
  if (wp) b.push(wp);
  c.rec.dispatch(k, b, new Params().u32(h.rows).u32(n).f32(eps).u32(g[0]), g);
  return true;
}

/** q, k = RMSNorm_head, RoPE; cache <- k, v. False: not applicable. */
export function qkRopeStore(
  c: OpContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, cache: GpuKvLayer, qNorm: GpuWeight | null, kNorm: GpuWeight | null, eps: number, p: RopeParams,
): boolean {
  const D = p.headDim;
  if (!(D > 0 && D % 2 === 0) || q.cols % D !== 0 || cache.kvDim % D !== 0) throw new GemmaError('BAD_SHAPE', `qkRopeStore: ${q.cols} / ${cache.kvDim} columns are not whole heads of ${D}`);
  // a packed cache is written in element pairs of both halves
  if (cache.packed && D % 4 !== 0) throw new GemmaError('BAD_SHAPE', `qkRopeStore: a packed f16 KV cache needs a head dimension divisible by 4, got ${D}`);
  expectShape('qkRopeStore k', k, q.rows, cache.kvDim);
  expectShape('qkRopeStore v', v, q.rows, cache.kvDim);
  if (!(Number.isInteger(p.startPos) && p.startPos >= 0)) throw new GemmaError('BAD_ARGUMENT', `qkRopeStore: startPos ${p.startPos}`);
  if ((qNorm === null) !== (kNorm === null)) throw new GemmaError('BAD_ARGUMENT', 'qkRopeStore: both QK-norm weights or neither');
  const qn = qNorm ? f32Vector(qNorm, D) : null, kn = kNorm ? f32Vector(kNorm, D) : null;
  if (qNorm && !(qn && kn)) return false;
  if (q.rows === 0) return true;
  const H = q.cols / D, G = cache.kvDim / D, half = D / 2;
  if (H + G > 65535 || q.rows > 65535) return false;
  const tab = ropeTableBinding(c, q.rows, p);
  const kern = c.kernels.get(qkRopeStoreSpec(qNorm !== null));
  const b: Binding[] = [tab, bind(q), bind(k), bind(v), { buffer: cache.k }, { buffer: cache.v }];
  if (qn && kn) b.push(qn, kn);
  const prm = new Params().u32(q.rows).u32(H).u32(G).u32(D).u32(half).u32(cache.capacity).u32(p.startPos).f32(eps);
  c.rec.dispatch(kern, b, prm, [H + G, q.rows]);
  return true;
}
