/**
 * Weight layouts of the WASM backend. Matrices are repacked at upload into "x4" groups:
 * four rows per group (the last group padded with zero rows), and column unit u of the
 * four rows stored together, the unit's header fields interleaved field by field
 * (assembly/repack.ts). One thread then reads a single sequential stream, and the four
 * block scales of a unit load as one vector (assembly/matmul-*.ts document each format).
 *
 *   float types: unit = 8 elements (the k % 8 tail of the four rows at the end)
 *   block types: unit = one ggml block; fields = the f16/u32 header fields before the quants
 *
 * A repacked matrix takes ceil(rows/4) * 4 * rowBytes bytes: the storage format is
 * unchanged, only reordered (so the byte count of a model is what its file says), except that
 * a matrix stored in column panels (panelsOf, below) pads its last block of 32 rows.
 */
import { GemmaError } from '../../errors.js';
import { DTYPE_INFO, type DType, rowBytes } from '../../tensor/dtype.js';

export type ActScheme = 'f32' | 'q8a' | 'q8k';

export interface Layout {
  dtype: DType;
  /** kernel id (assembly/index.ts matmulOne) */
  kind: number;
  /** elements per unit (8 for floats, the block size otherwise) */
  unitElems: number;
  /** bytes per unit of one row */
  unitBytes: number;
  /** header field sizes in bytes (interleaved across the four rows) */
  fields: number[];
  /** activation format the kernel reads */
  act: ActScheme;
  /**
   * Q5_0 / Q5_1: byte offset in the x4 unit of the four rows' qh words, which the upload
   * rewrites bit-sliced (assembly/repack.ts sliceQh: byte j, bit 2i + h = row i's fifth bit of
   * element j + 16 h)
   */
  qhOff?: number;
}

function blocks(dtype: DType, kind: number, fields: number[], act: ActScheme): Layout {
  const { blockSize, blockBytes } = DTYPE_INFO[dtype];
  return { dtype, kind, unitElems: blockSize, unitBytes: blockBytes, fields, act };
}

export const LAYOUTS: Partial<Record<DType, Layout>> = {
  f32: { dtype: 'f32', kind: 0, unitElems: 8, unitBytes: 32, fields: [], act: 'f32' },
  f16: { dtype: 'f16', kind: 1, unitElems: 8, unitBytes: 16, fields: [], act: 'f32' },
  bf16: { dtype: 'bf16', kind: 2, unitElems: 8, unitBytes: 16, fields: [], act: 'f32' },
  q8_0: blocks('q8_0', 3, [2], 'q8a'),          // d | qs[32]
  q4_0: blocks('q4_0', 4, [2], 'q8a'),          // d | qs[16]
  q4_1: blocks('q4_1', 5, [2, 2], 'q8a'),       // d, m | qs[16]
  q5_0: { ...blocks('q5_0', 6, [2, 4], 'q8a'), qhOff: 8 },       // d, qh (bit-sliced) | qs[16]
  q5_1: { ...blocks('q5_1', 7, [2, 2, 4], 'q8a'), qhOff: 16 },   // d, m, qh (bit-sliced) | qs[16]
  q4_k: blocks('q4_k', 8, [], 'q8k'),           // whole blocks, unchanged
  q5_k: blocks('q5_k', 9, [], 'q8k'),
  q6_k: blocks('q6_k', 10, [], 'q8k'),
};

export function layoutOf(dtype: DType, name?: string): Layout {
  const l = LAYOUTS[dtype];
  if (!l) throw new GemmaError('UNSUPPORTED_DTYPE', `the wasm backend has no matmul kernel for ${dtype}`, { tensor: name });
  return l;
}

/**
 * Most columns of one column panel, per weight format (rows of more than PANEL_MIN_K columns). A decode matmul re-reads the
 * activation row (its quantized form) for every group of four weight rows; while that row stays
 * in L1 beside the weight stream, the stream runs at the memory's speed, but a Q8A row of 6912
 * columns (the Gemma 3 1B `ffn_down` input: 13.8 KB of dot parts and 0.9 KB of scales) is
 * evicted by the group's 29 KB of weights going by, and the matrix streamed 1.3x slower from
 * DRAM on the development machine (1 thread, same process, activation reads folded onto the
 * first 64 blocks). Such matrices are stored in column panels: `panelsOf(l, k)` slices of
 * k / panels columns, each in the x4 layout, interleaved by row blocks of PANEL_BLOCK_GROUPS
 * groups (block 0's panels 0, 1, ..., then block 1's: panelSlice; the last block padded) so
 * that a decoding thread still streams one sequential range, block by block, panel by panel
 * (partial sums added in panel order; assembly/index.ts).
 * Measured (in-process A/B over 24 [1152 x 6912] matrices streamed from DRAM, 1 and 2
 * threads): Q8_0 decode 1.07-1.17x, F16 decode 1.06-1.10x and prefill 1.09-1.27x (Q8_0 prefill
 * 1.0x); Q4_0 0.90-1.0x (its activation, ~1.1 bytes a column, stays in L1 anyway) and the
 * K-quants 0.97-0.99x (their kernels are slower than memory), so only Q8_0 and the float
 * formats are stored in panels, and only rows of more than PANEL_MIN_K columns: two panels
 * of 1152 columns lost 1-7 % ([9216 x 2304] Q8_0 and F16, [6912 x 1152] F16 in two panels of
 * 576: 1.0x). A panel of 2048 columns reads ~4.3 KB of Q8_0 activation (int8 dot parts twice
 * the size of the quants) or 8 KB of f32.
 */
export const PANEL_MAX_K: Partial<Record<DType, number>> = { q8_0: 2048, f32: 2048, f16: 2048, bf16: 2048 };

/** rows of at most this many columns are never split into panels (see PANEL_MAX_K) */
export const PANEL_MIN_K = 4096;

/**
 * Column panels of a [rows, k] matrix of layout l: 1 when k <= PANEL_MIN_K (or the format has
 * no limit), else the fewest equal panels of at most maxK columns (the smallest count that
 * divides k into whole units; floats need whole 8-column units: no tail in a panel), as long
 * as a panel keeps at least maxK / 2 columns; else 1.
 */
export function panelsOf(l: Layout, k: number): number {
  const maxK = PANEL_MAX_K[l.dtype] ?? 0;
  if (!(maxK > 0) || k <= Math.max(maxK, PANEL_MIN_K)) return 1;
  const unit = l.act === 'f32' ? 8 : l.unitElems;
  for (let n = Math.ceil(k / maxK); 2 * (k / n) >= maxK; n++) if (k % n === 0 && (k / n) % unit === 0) return n;
  return 1;
}

/** groups (of four rows) per row block of a matrix in column panels (see PANEL_MAX_K; the
 *  kernels' PANEL_GROUPS, assembly/common.ts) */
export const PANEL_BLOCK_GROUPS = 8;

/**
 * Byte offset of group g's slice of column panel p in a matrix stored in `panels` column panels
 * of gsp bytes per group (groupBytes of a panel's columns): row blocks of PANEL_BLOCK_GROUPS
 * groups, each block's panels one after the other, each panel's groups one after the other
 * (assembly/common.ts groupPtr).
 */
export function panelSlice(panels: number, gsp: number, g: number, p: number): number {
  const G = PANEL_BLOCK_GROUPS;
  return (Math.floor(g / G) * panels * G + p * G + (g % G)) * gsp;
}

/** bytes of one x4 group of rows with k columns */
export function groupBytes(l: Layout, k: number): number {
  return 4 * rowBytes(l.dtype, k);
}

/** bytes of a repacked [rows, k] matrix (in `panels` column panels: row blocks, the last padded) */
export function packedBytes(l: Layout, rows: number, k: number, panels = 1): number {
  const groups = Math.ceil(rows / 4);
  if (panels === 1) return groups * groupBytes(l, k);
  return Math.ceil(groups / PANEL_BLOCK_GROUPS) * PANEL_BLOCK_GROUPS * panels * groupBytes(l, k / panels);
}

/** fields packed for repackX4: f1 | f2 << 8 | f3 << 16 */
export function packedFields(l: Layout): number {
  return (l.fields[0] ?? 0) | ((l.fields[1] ?? 0) << 8) | ((l.fields[2] ?? 0) << 16);
}

/**
 * The repackX4 calls for one matrix, as (srcOff, dstOff, units, unit, fields) per call:
 * one call for the units, plus one for the tail of float rows (k % 8 elements).
 */
export function repackPlan(l: Layout, k: number): { srcOff: number; dstOff: number; units: number; unit: number; fields: number }[] {
  if (l.act !== 'f32') return [{ srcOff: 0, dstOff: 0, units: k / l.unitElems, unit: l.unitBytes, fields: packedFields(l) }];
  const es = l.unitBytes / 8, nc = k >> 3, tail = k & 7;
  const plan = [{ srcOff: 0, dstOff: 0, units: nc, unit: l.unitBytes, fields: 0 }];
  if (tail) plan.push({ srcOff: nc * 8 * es, dstOff: nc * 32 * es, units: 1, unit: tail * es, fields: 0 });
  return plan;
}

/**
 * Undo the repacking for one row (the embedding lookup): lane `lane` (0..3) of the group at
 * mem[group..] back into standard row bytes `out` (rowBytes(dtype, k) long).
 * q8LevelOffset: the offset Q8_0 levels are stored with (assembly/repack.ts offsetQ8_0: 128
 * in the dot-add build, 0 otherwise), taken off again.
 */
export function unpackRow(l: Layout, mem: Uint8Array, group: number, lane: number, k: number, out: Uint8Array, q8LevelOffset = 0): void {
  const flip = l.dtype === 'q8_0' && q8LevelOffset === 128;
  if (l.dtype === 'q8_0' && q8LevelOffset !== 0 && !flip) throw new GemmaError('INTERNAL', `Q8_0 level offset ${q8LevelOffset}`);
  for (const c of repackPlan(l, k)) {
    const hdr = l.fields.reduce((a, b) => a + b, 0);
    const pay = c.unit - (c.fields ? hdr : 0);
    for (let u = 0; u < c.units; u++) {
      const d = group + c.dstOff + u * 4 * c.unit;
      const s = c.srcOff + u * c.unit;
      let pre = 0;
      if (c.fields) {
        for (const f of l.fields) {
          if (4 * pre === l.qhOff) {
            // the bit-sliced qh bytes back into this row's word (little-endian u32)
            let qh = 0;
            for (let j = 0; j < 16; j++) {
              const b = mem[d + 4 * pre + j]!;
              qh |= ((b >> (2 * lane)) & 1) << j;
              qh |= ((b >> (2 * lane + 1)) & 1) << (j + 16);
            }
            for (let i = 0; i < 4; i++) out[s + pre + i] = (qh >>> (8 * i)) & 0xff;
          } else {
            out.set(mem.subarray(d + 4 * pre + lane * f, d + 4 * pre + lane * f + f), s + pre);
          }
          pre += f;
        }
      }
      out.set(mem.subarray(d + 4 * pre + lane * pay, d + 4 * pre + lane * pay + pay), s + pre);
      if (flip) for (let i = s + pre; i < s + pre + pay; i++) out[i] = out[i]! ^ 0x80;
    }
  }
}
