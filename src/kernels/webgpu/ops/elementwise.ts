/** add, geglu (out may alias either input) and the in-place soft-cap. */
import { expectShape } from '../../backend.js';
import { type KernelSpec, memoSpec } from '../pipelines.js';
import { type Binding, Params } from '../recorder.js';
import type { GpuTensor } from '../resources.js';
import { bind, grid, type OpContext, WG } from './context.js';

export type BinaryOp = 'OP_ADD' | 'OP_GEGLU';

/** the kernel for out = op(a, b) when out aliases a and/or b (bindings: the distinct tensors) */
export function binarySpec(op: BinaryOp, outIsA: boolean, outIsB: boolean): KernelSpec {
  const n = outIsA && outIsB ? 1 : outIsA || outIsB ? 2 : 3;
  return memoSpec(`binary|${op}|${outIsA}|${outIsB}`, () => ({
    shader: 'binary', defines: { WG, [op]: true, OUT_IS_A: outIsA, OUT_IS_B: outIsB },
    bindings: [...Array<'read'>(n - 1).fill('read'), 'rw'], kind: op === 'OP_ADD' ? 'add' : 'geglu',
  }));
}

export const SOFTCAP_SPEC: KernelSpec = { shader: 'softcap', defines: { WG }, bindings: ['rw'], kind: 'softcap' };

function binary(c: OpContext, op: BinaryOp, out: GpuTensor, a: GpuTensor, b: GpuTensor): void {
  const n = a.rows * a.cols;
  if (n === 0) return;
  const outIsA = out === a, outIsB = out === b || (outIsA && a === b);
  const bindings: Binding[] = [];
  if (!outIsA) bindings.push(bind(a));
  if (!outIsB) bindings.push(bind(b));
  bindings.push(bind(out));
  const k = c.kernels.get(binarySpec(op, outIsA, outIsB));
  const g = grid(Math.ceil(n / WG));
  c.rec.dispatch(k, bindings, new Params().u32(n).u32(g[0]), g);
}

export function add(c: OpContext, out: GpuTensor, a: GpuTensor, b: GpuTensor): void {
  expectShape('add b', b, a.rows, a.cols);
  expectShape('add out', out, a.rows, a.cols);
  binary(c, 'OP_ADD', out, a, b);
}

export function geglu(c: OpContext, out: GpuTensor, gate: GpuTensor, up: GpuTensor): void {
  expectShape('geglu up', up, gate.rows, gate.cols);
  expectShape('geglu out', out, gate.rows, gate.cols);
  binary(c, 'OP_GEGLU', out, gate, up);
}

export function softcap(c: OpContext, x: GpuTensor, cap: number): void {
  const n = x.rows * x.cols;
  if (n === 0) return;
  const k = c.kernels.get(SOFTCAP_SPEC);
  const g = grid(Math.ceil(n / WG));
  c.rec.dispatch(k, [bind(x)], new Params().u32(n).u32(g[0]).f32(cap), g);
}
