/**
 * matmul: out[n, m] = sum_k x[n, k] W[m, k], W in its storage format (one dispatch per chunk).
 * - 1..MV_MAX_ROWS tokens (decode): matvec.wgsl, a subgroup (or 16 invocations) per weight row
 * - more (prefill): matmul_tiled.wgsl, 64x64 output tiles
 */
import { GemmaError } from '../../../errors.js';
import { expectShape } from '../../backend.js';
import type { KernelSpec } from '../pipelines.js';
import { Params } from '../recorder.js';
import type { GpuDType } from '../weight-layout.js';
import type { GpuTensor, GpuWeight } from '../resources.js';
import { bind, grid, type OpContext } from './context.js';

export const MV_MAX_ROWS = 4;
const TILE = 64;
const MV_WG = 64;

export function matmulSpec(dtype: GpuDType, tiled: boolean): KernelSpec {
  return {
    shader: tiled ? 'matmul_tiled' : 'matvec',
    defines: { DTYPE: dtype, WG: MV_WG },
    bindings: ['read', 'read', 'rw'],
    kind: tiled ? 'matmul' : 'matvec',
  };
}

export function matmul(c: OpContext, out: GpuTensor, x: GpuTensor, w: GpuWeight): void {
  if (w.shape.length !== 2) throw new GemmaError('BAD_SHAPE', `matmul weight must be 2-D, got [${w.shape}]`, { tensor: w.name });
  expectShape('matmul x', x, x.rows, w.cols);
  expectShape('matmul out', out, x.rows, w.rows);
  if (x.rows === 0) return;
  const L = w.layout;
  const tiled = x.rows > MV_MAX_ROWS;
  const k = c.kernels.get(matmulSpec(L.gpuDtype, tiled));
  // matvec: one row per subgroup (probed size), or 16 invocations per row without subgroups
  const rowsPerWg = c.gpu.subgroups ? Math.max(1, MV_WG / c.gpu.subgroupSize) : MV_WG / 16;
  for (const ch of w.chunks) {
    const g: [number, number] = tiled ? [Math.ceil(ch.rows / TILE), Math.ceil(x.rows / TILE)] : grid(Math.ceil(ch.rows / rowsPerWg));
    const p = new Params()
      .u32(x.rows).u32(w.cols).u32(Math.ceil(w.cols / 4)).u32(ch.rows).u32(ch.rowBase).u32(w.rows)
      .u32(L.rowWords).u32(ch.scaleOff).u32(L.nb).u32(g[0]).u32(rowsPerWg);
    c.rec.dispatch(k, [{ buffer: ch.buffer }, bind(x), bind(out)], p, g);
  }
}
