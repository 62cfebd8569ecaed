/**
 * rope, in place on half-split pairs. The cos/sin table [rows][D/2][2] is computed here in
 * double precision, exactly as the reference (angle = (pos / scaling) * theta^(-2i/D)), and
 * placed once per batch in the data arena (q and k of every layer with the same base share it).
 */
import { GemmaError } from '../../../errors.js';
import type { RopeParams } from '../../backend.js';
import type { KernelSpec } from '../pipelines.js';
import { type Binding, Params } from '../recorder.js';
import type { GpuTensor } from '../resources.js';
import { bind, grid, type OpContext, WG } from './context.js';

export function ropeTable(rows: number, headDim: number, startPos: number, theta: number, scaling: number): Float32Array {
  const half = headDim / 2;
  const t = new Float32Array(rows * half * 2);
  for (let r = 0; r < rows; r++) {
    const pos = (startPos + r) / scaling;
    for (let i = 0; i < half; i++) {
      const ang = pos * Math.pow(theta, -(2 * i) / headDim);
      t[(r * half + i) * 2] = Math.cos(ang);
      t[(r * half + i) * 2 + 1] = Math.sin(ang);
    }
  }
  return t;
}

/** the cos/sin table of `rows` positions from p.startPos, placed in the data arena (once per batch) */
export function ropeTableBinding(c: OpContext, rows: number, p: RopeParams): Binding {
  const key = `rope:${rows}:${p.headDim}:${p.startPos}:${p.theta}:${p.scaling}`;
  return c.rec.data(() => new Uint8Array(ropeTable(rows, p.headDim, p.startPos, p.theta, p.scaling).buffer), key);
}

export const ROPE_SPEC: KernelSpec = { shader: 'rope', defines: { WG }, bindings: ['read', 'rw'], kind: 'rope' };

export function rope(c: OpContext, x: GpuTensor, p: RopeParams): void {
  if (x.cols % p.headDim !== 0 || p.headDim % 2 !== 0) throw new GemmaError('BAD_SHAPE', `rope: ${x.cols} columns are not whole heads of ${p.headDim}`);
  if (!(Number.isInteger(p.startPos) && p.startPos >= 0)) throw new GemmaError('BAD_ARGUMENT', `rope: startPos ${p.startPos}`);
  const heads = x.cols / p.headDim, half = p.headDim / 2;
  const n = x.rows * heads * half;
  if (n === 0) return;
  const tab = ropeTableBinding(c, x.rows, p);
  const k = c.kernels.get(ROPE_SPEC);
  const g = grid(Math.ceil(n / WG));
  c.rec.dispatch(k, [tab, bind(x)], new Params().u32(x.rows).u32(heads).u32(p.headDim).u32(half).u32(g[0]), g);
}
