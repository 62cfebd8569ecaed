/**
 * matmul: out[n, m] = sum_k x[n, k] W[m, k], W in its storage format (one dispatch per chunk).
 * - 1..MV_MAX_ROWS tokens (decode):
 *   q8_0 / q4_0 / q4_k / q6_k / float with subgroups: matvec_blocks.wgsl, 8-256 invocations per
 *   weight row, one or two units of 8 elements each;
 *   otherwise matvec.wgsl, a subgroup (or 16 invocations) per weight row
 * - more (prefill): matmul_tiled.wgsl, 64x64 output tiles
 */
import { GemmaError } from '../../../errors.js';
import { expectShape } from '../../backend.js';
import { type KernelSpec, memoSpec } from '../pipelines.js';
import { Params } from '../recorder.js';
import type { GpuDType, WeightLayout } from '../weight-layout.js';
import type { GpuTensor, GpuWeight } from '../resources.js';
import { bind, grid, type OpContext } from './context.js';

export const MV_MAX_ROWS = 4;
const TILE = 64;
const MV_WG = 64;

/** invocations per workgroup of matvec_blocks.wgsl */
const BLOCK_MV_WG = 256;
/** formats matvec_blocks.wgsl has a unit dot for (shaders/dqb/) */
const BLOCK_MATVEC: ReadonlySet<GpuDType> = new Set(['q8_0', 'q4_0', 'q4_k', 'q6_k', 'f32', 'f16', 'bf16']);
/** K-quant super-blocks hold 8 groups of 32 */
const SUPER: ReadonlySet<GpuDType> = new Set(['q4_k', 'q6_k']);
const FLOAT: ReadonlySet<GpuDType> = new Set(['f32', 'f16', 'bf16']);

/**
 * The kernels' `nb`: groups of 32 elements per row (4 units of 8): the blocks of a q8_0/q4_0
 * row, 8 per K-quant super-block, or cols / 32 for float rows (0 when not a multiple of 32).
 */
export function unitGroups(L: WeightLayout, cols: number): number {
  if (SUPER.has(L.gpuDtype)) return L.nb * 8;
  if (!FLOAT.has(L.gpuDtype)) return L.nb;
  return cols % 32 === 0 ? cols / 32 : 0;
}

/** cross: rows span several subgroups (lanes > subgroup size), partial sums meet in workgroup memory */
export function blockMatvecSpec(dtype: GpuDType, cross: boolean): KernelSpec {
  return memoSpec(`matvec_blocks|${dtype}|${cross}`, () => ({ shader: 'matvec_blocks', defines: { DTYPE: dtype, WG: BLOCK_MV_WG, CROSS: cross }, bindings: ['read', 'read', 'rw'], kind: 'matvec' }));
}

/** about this many invocations in all: beyond it, tall matrices give each invocation more units */
const BLOCK_MV_THREADS = 1 << 19;

/**
 * Invocations per weight row for matvec_blocks: the power of two in [8, 256] at or below the
 * row's units of 8 quants (4 per block), so each invocation does one or two units, but no more
 * than keeps rows x lanes near BLOCK_MV_THREADS (a 262k-row LM head gets 8 lanes a row: tiny
 * workgroups by the hundred thousand read slower than fewer, busier ones), and at most maxLanes
 * (CPU drivers: the subgroup size, so that no row needs workgroup barriers, which cost far more
 * there than the parallelism gains). 0 = the kernel does not apply (no subgroups, or a format
 * without a unit dot).
 */
export function blockMatvecLanes(dtype: GpuDType, nb: number, subgroups: boolean, rows: number, maxLanes = BLOCK_MV_WG): number {
  if (!subgroups || !BLOCK_MATVEC.has(dtype) || nb < 1) return 0;
  const most = Math.min(BLOCK_MV_WG, maxLanes);
  const units = nb * 4;
  let lanes = Math.min(8, most);
  while (lanes * 2 <= most && lanes * 2 <= units && lanes * 2 * rows <= BLOCK_MV_THREADS) lanes *= 2;
  return lanes;
}

/** lanes for this device (software: at most one subgroup per row) */
function deviceLanes(c: OpContext, dtype: GpuDType, nb: number, rows: number): number {
  return blockMatvecLanes(dtype, nb, c.gpu.subgroups, rows, c.gpu.software ? c.gpu.subgroupSize : BLOCK_MV_WG);
}

export function matmulSpec(dtype: GpuDType, tiled: boolean): KernelSpec {
  return memoSpec(`matmul|${dtype}|${tiled}`, () => ({
    shader: tiled ? 'matmul_tiled' : 'matvec',
    defines: { DTYPE: dtype, WG: MV_WG },
    bindings: ['read', 'read', 'rw'],
    kind: tiled ? 'matmul' : 'matvec',
  }));
}

export function matmul(c: OpContext, out: GpuTensor, x: GpuTensor, w: GpuWeight): void {
  if (w.shape.length !== 2) throw new GemmaError('BAD_SHAPE', `matmul weight must be 2-D, got [${w.shape}]`, { tensor: w.name });
  expectShape('matmul x', x, x.rows, w.cols);
  expectShape('matmul out', out, x.rows, w.rows);
  if (x.rows === 0) return;
  const L = w.layout;
  const tiled = x.rows > MV_MAX_ROWS;
  const nb = unitGroups(L, w.cols);
  const lanes = tiled ? 0 : deviceLanes(c, L.gpuDtype, nb, w.rows);
  if (lanes) {
    const k = c.kernels.get(blockMatvecSpec(L.gpuDtype, lanes > c.gpu.subgroupSize));
    const rowsPerWg = BLOCK_MV_WG / lanes;
    for (const ch of w.chunks) {
      const g = grid(Math.ceil(ch.rows / rowsPerWg));
      const p = new Params()
        .u32(x.rows).u32(w.cols).u32(Math.ceil(w.cols / 4)).u32(ch.rows).u32(ch.rowBase).u32(w.rows)
        .u32(L.rowWords).u32(ch.scaleOff).u32(nb).u32(g[0]).u32(rowsPerWg).u32(lanes);
      c.rec.dispatch(k, [{ buffer: ch.buffer }, bind(x), bind(out)], p, g);
    }
    return;
  }
  const k = c.kernels.get(matmulSpec(L.gpuDtype, tiled));
  // matvec: one row per subgroup (probed size), or 16 invocations per row without subgroups
  const rowsPerWg = c.gpu.subgroups ? Math.max(1, MV_WG / c.gpu.subgroupSize) : MV_WG / 16;
  for (const ch of w.chunks) {
    const g: [number, number] = tiled ? [Math.ceil(ch.rows / TILE), Math.ceil(x.rows / TILE)] : grid(Math.ceil(ch.rows / rowsPerWg));
    const p = new Params()
      .u32(x.rows).u32(w.cols).u32(Math.ceil(w.cols / 4)).u32(ch.rows).u32(ch.rowBase).u32(w.rows)
      .u32(L.rowWords).u32(ch.scaleOff).u32(L.nb).u32(g[0]).u32(rowsPerWg).u32(0);
    c.rec.dispatch(k, [{ buffer: ch.buffer }, bind(x), bind(out)], p, g);
  }
}

export function multiMatvecSpec(dtype: GpuDType, geglu: boolean, cross: boolean): KernelSpec {
  return memoSpec(`matvec_multi|${dtype}|${geglu}|${cross}`, () => ({
    shader: 'matvec_multi', defines: { DTYPE: dtype, WG: BLOCK_MV_WG, GEGLU: geglu, CROSS: cross },
    bindings: geglu ? ['read', 'read', 'read', 'rw'] : ['read', 'read', 'read', 'read', 'rw', 'rw', 'rw'], kind: 'matvec',
  }));
}

/**
 * Several decode matrix-vector products over the same x in one dispatch (matvec_multi.wgsl):
 * geglu: outs[0] = gelu_tanh(x W0^T) * (x W1^T); otherwise outs[i] = x Wi^T for three weights.
 * False when the kernel does not apply (prefill, no subgroups, mixed or unsupported formats,
 * weights split into chunks); the caller then runs the plain ops.
 */
export function multiMatvec(c: OpContext, outs: GpuTensor[], x: GpuTensor, ws: GpuWeight[], geglu: boolean): boolean {
  const w0 = ws[0]!;
  const L = w0.layout;
  if (x.rows === 0 || x.rows > MV_MAX_ROWS || ws.length !== (geglu ? 2 : 3) || outs.length !== (geglu ? 1 : 3)) return false;
  for (const w of ws) {
    if (w.shape.length !== 2 || w.chunks.length !== 1 || w.layout.gpuDtype !== L.gpuDtype || w.cols !== w0.cols || w.layout.rowWords !== L.rowWords) return false;
  }
  if (geglu && ws[1]!.rows !== w0.rows) return false;
  const total = geglu ? w0.rows : ws.reduce((n, w) => n + w.rows, 0);
  const nb = unitGroups(L, w0.cols);
  const lanes = deviceLanes(c, L.gpuDtype, nb, total);
  if (!lanes) return false;
  expectShape('multiMatvec x', x, x.rows, w0.cols);
  outs.forEach((o, i) => expectShape(`multiMatvec out ${i}`, o, x.rows, ws[i]!.rows));
  const g = grid(Math.ceil(total / (BLOCK_MV_WG / lanes)));
  const [m1, m2] = [ws[1]?.rows ?? 0, ws[2]?.rows ?? 0];
  const p = new Params().u32(x.rows).u32(w0.cols).u32(nb).u32(L.rowWords).u32(lanes).u32(g[0])
    .u32(w0.rows).u32(m1).u32(m2).u32(w0.chunks[0]!.scaleOff).u32(ws[1]!.chunks[0]!.scaleOff).u32(ws[2]?.chunks[0]!.scaleOff ?? 0);
  const wb = ws.map((w) => ({ buffer: w.chunks[0]!.buffer }));
  c.rec.dispatch(c.kernels.get(multiMatvecSpec(L.gpuDtype, geglu, lanes > c.gpu.subgroupSize)), [...wb, bind(x), ...outs.map(bind)], p, g);
  return true;
}
