/**
 * Job descriptors and the pool's control block in wasm memory. The descriptor layout must
 * match assembly/index.ts (`run`); the control words match worker-source.ts.
 *
 * Descriptor at JOB_PTR (bytes):
 *   0  op          OP_*
 *   4  chunks      the job is cut into this many chunks
 *   8  ranges      R: the chunks are split into R contiguous ranges, one per thread (below)
 *   16 done        chunks finished; the job is over when done == chunks
 *   32 arguments   (i32 / f32 words, per op:)
 *   OP_MATMUL  [count, then count x (kind, w, xq, xs, out, m, k, T, groupsPerChunk,
 *               xqThreadBytes, w2, out2, panels, panelGroupBytes, xPanelBytes, part)   16
 *               words each
 *               (w2 != 0: a GeGLU pair, out = gelu_tanh(x w^T) * (x w2^T) per chunk, out2 =
 *               x w2^T; k is a column panel's, layout.ts panelsOf), then scratch, scratchBytes
 *               per thread (0: none),
 *               then x, nq, nq x (scheme, dst, dstThreadBytes, kPanel, panels, stride)]: with
 *               nq > 0 every thread quantizes x (one row, as `panels` rows of kPanel) into its
 *               own dst + ith * dstThreadBytes (assembly/index.ts)
 *   OP_QUANT   [scheme (0 Q8A, 1 Q8K), x, k, dst, stride, rows, rowsPerChunk]
 *   OP_ATTN    [out, q, K, V, rows, H, G, D, cap, startPos, window, scale f32, softcap f32,
 *               scratch, scratchStride, itemsPerChunk, items, split, part, kv16 (1: f16 cache rows)]
 *   OP_PROBE   [ptr, bytes, results (one i32 per chunk), linesPerChunk]
 *   OP_TOUCH   [ptr, pages, pagesPerChunk]: a zero byte stored every 4096 bytes from ptr
 *   OP_GEGLU   [out, gate, up, n, perChunk]: out = gelu_tanh(gate) * up, n elements
 */
import { GemmaError } from '../../errors.js';

export const OP_MATMUL = 1;
export const OP_QUANT = 2;
export const OP_ATTN = 3;
export const OP_PROBE = 4;
export const OP_TOUCH = 5;
export const OP_GEGLU = 6;

/** i32 word indices of the descriptor header, and of the first argument */
export const JOB = { OP: 0, CHUNKS: 1, RANGES: 2, DONE: 4, ARGS: 8 } as const;

/**
 * Chunk ranges (at RANGE_PTR, one 64-bit word per range, RANGE_STRIDE bytes apart so that
 * owners do not share cache lines): range r holds chunks [front, back) not yet claimed,
 *   word = gen24 << 40 | front << 20 | back        (gen24 = generation & 0xffffff)
 * Thread r claims its own range from the front, one chunk at a time, so its chunks are one
 * contiguous stream of weights (interleaving the threads' chunks, as one shared counter does,
 * costs the hardware prefetchers ~25 % on matrices of a few MB streamed from DRAM); a thread
 * whose range is empty then takes chunks from the back of the others' ranges, so a thread that
 * is late still does less. Claims are compare-and-swaps of the whole word: a thread of an
 * older job sees another generation and stops.
 */
export const RANGE_PTR = 12288;
export const RANGE_STRIDE = 64;
/** most ranges (threads) and chunks of a job (20-bit fields) */
export const MAX_RANGES = 256;
export const MAX_CHUNKS = (1 << 20) - 1;
/** generation bits kept in a range word */
export const GEN_MASK = 0xffffff;
/** words per matmul entry of OP_MATMUL, and per own-quantization entry after them */
export const MATMUL_WORDS = 16;
export const QUANT_WORDS = 6;

/** bytes per Q8_0 block column (unit) in a matmul's per-thread scratch, where prefill widens
 *  a group of four weight rows to int16 once for all activation rows (assembly/matmul-q.ts) */
export const Q8_0_WIDE_UNIT = 272;

/** bytes per column in a float (F32/F16/BF16) matmul's per-thread prefill scratch: the group's
 *  four rows as one f32x4 (assembly/matmul-f.ts widenFloat) */
export const FLOAT_WIDE_COLUMN = 16;

/** bytes of activation rows a prefill kernel keeps in one token tile (assembly/matmul-q.ts tokenTile) */
export const TILE_BYTES = 524288;

/** activation rows per token tile for rows of `rowBytes` (assembly/matmul-q.ts tokenTile) */
export function tokenTile(rowBytes: number): number {
  return Math.max(2, Math.floor(TILE_BYTES / rowBytes) & ~1);
}

/**
 * Per-thread prefill scratch of Q4_0 / Q4_1, and of Q5_0 in the relaxed build (assembly/matmul-q.ts
 * mmQ45): the unpacked group
 * (128 bytes per block) and the token tile's activation rows packed four at a time (packRows4:
 * 160 bytes per block and four rows).
 */
function nibbleScratchBytes(k: number, rows: number): number {
  const nb = k / 32, tt = Math.min(rows, tokenTile(k + k / 8));
  // two groups unpacked at once (assembly/matmul-q.ts rowsTiles4x2)
  return 2 * nb * 128 + Math.ceil(tt / 4) * nb * 160;
}

/**
 * Per-thread prefill scratch of Q4_K / Q5_K (assembly/matmul-k.ts): the unpacked group (1312
 * bytes per super-block; SIMD128 build: 2336, widened to int16) and the token tile's activation
 * rows (Q8K rows of `stride` bytes) packed four at a time (packRowsQ8K: 1024 bytes per
 * super-block and four rows; SIMD128 build, packRowsQ8Ks: 2048).
 */
function kquantScratchBytes(k: number, rows: number, stride: number): number {
  const nb = k / 256, tt = Math.min(rows, tokenTile(stride));
  return Math.max(nb * 1312 + Math.ceil(tt / 4) * nb * 1024, nb * 2336 + Math.ceil(tt / 4) * nb * 2048);
}

/** bytes per block of a Q4_1 (SIMD128 build) or Q5_1 group widened for prefill, and per block of
 *  its four packed activation rows: Q8_0_WIDE_UNIT, then the min term's four floats
 *  (assembly/matmul-q.ts Q41_WIDE_UNIT) */
export const Q4_1_WIDE_UNIT = 288;

/**
 * Per-thread prefill scratch of Q8_0, and of Q4_0 / Q4_1 / Q5_0 in the SIMD128 build (mmQ8_0,
 * mmQ45): the group widened to int16 (`unit` bytes per block: Q8_0_WIDE_UNIT, Q4_1_WIDE_UNIT)
 * and the token tile's activation rows packed four at a time (packRowsQ8w: as many bytes per
 * block and four rows). The dot-add build's Q8_0 prefill uses the same places: its int8 tiles
 * (tileQ8_0, 144 bytes per block) and its packed activation parts (packRowsQ8d, 272 bytes per
 * block and four rows).
 */
function wideScratchBytes(k: number, rows: number, unit = Q8_0_WIDE_UNIT): number {
  const nb = k / 32, tt = Math.min(rows, tokenTile(2 * k + k / 8));
  return (1 + Math.ceil(tt / 4)) * nb * unit;
}

/** most matmuls sharing one input that one job may carry */
export const MAX_FUSED = 8;

/** the generation of jobs run by the calling thread alone (the pool never uses it, nor any
 *  generation equal to it in the low 24 bits) */
export const LOCAL_GEN = GEN_MASK;

/** control block: Int32 word indices */
export const CTRL = {
  GEN: 0,        // generation of the current job (> 0); workers wait for it to change
  SLEEPERS: 2,   // workers sleeping in Atomics.wait on GEN
  ERR: 3,        // id of a worker whose kernel threw (0 = none)
  QUIT: 4,       // 1: workers leave their loop
  MAIN_SLEEP: 5, // 1: the calling thread sleeps on the job's done word
} as const;
export const CTRL_WORDS = 16;

/** fixed addresses inside the reserved first 64 KiB of memory (heap.ts); the ranges follow
 *  the job (RANGE_PTR = JOB_PTR + JOB_BYTES, up to MAX_RANGES x RANGE_STRIDE = 16 KiB) */
export const CTRL_PTR = 1024;
export const JOB_PTR = 4096;
export const JOB_BYTES = 8192;

/**
 * Publish the chunk ranges of the job whose descriptor `job` views (its CHUNKS word read, its
 * RANGES word written) for generation `gen`: `ranges` contiguous ranges of about equal size
 * over [0, chunks). `words` views the range area (RANGE_PTR, MAX_RANGES words RANGE_STRIDE
 * bytes apart). Each word is one 64-bit atomic store, so no thread ever sees a word half old,
 * half new.
 */
export function publishRanges(job: Int32Array, words: BigInt64Array, gen: number, ranges: number): void {
  const chunks = job[JOB.CHUNKS]!;
  if (!(chunks >= 0 && chunks <= MAX_CHUNKS)) throw new GemmaError('INTERNAL', `a job of ${chunks} chunks (at most ${MAX_CHUNKS})`);
  if (!(ranges >= 1 && ranges <= MAX_RANGES)) throw new GemmaError('INTERNAL', `${ranges} chunk ranges (1..${MAX_RANGES})`);
  job[JOB.RANGES] = ranges;
  const g = BigInt(gen & GEN_MASK) << 40n, step = RANGE_STRIDE / 8;
  for (let r = 0; r < ranges; r++) {
    const front = Math.floor((r * chunks) / ranges), back = Math.floor(((r + 1) * chunks) / ranges);
    Atomics.store(words, r * step, g | (BigInt(front) << 20n) | BigInt(back));
  }
}

/** a view of the range area for publishRanges */
export function rangeWords(buffer: ArrayBufferLike): BigInt64Array {
  return new BigInt64Array(buffer, RANGE_PTR, (MAX_RANGES * RANGE_STRIDE) / 8);
}

/**
 * Bytes of per-thread scratch a matmul's prefill (rows >= 2 activation rows of k columns) needs
 * for weights of `dtype`: the kernels unpack each group of four weight rows there once per token
 * tile (assembly/matmul-q.ts widenQ8_0, widenQ45, widenNibbles; matmul-k.ts widenQ45K,
 * widenQ6K; matmul-f.ts widenFloat), next to the tile's activation rows packed four at a time
 * (packRowsQ8w, packRows4, packRowsQ8K, packRowsQ8Ks; not for the float formats, nor Q6_K in the relaxed builds). q8kStride: the Q8K
 * activation row stride. 0: none.
 */
export function prefillScratchBytes(dtype: string, k: number, rows: number, q8kStride: number): number {
  switch (dtype) {
    case 'q8_0': return wideScratchBytes(k, rows);
    // relaxed build: unpacked levels (widenNibbles); SIMD128 build: widened as Q8_0 (widenQ45)
    case 'q4_0': case 'q5_0': return Math.max(nibbleScratchBytes(k, rows), wideScratchBytes(k, rows));
    case 'q4_1': return Math.max(nibbleScratchBytes(k, rows), wideScratchBytes(k, rows, Q4_1_WIDE_UNIT));
    case 'q5_1': return wideScratchBytes(k, rows, Q4_1_WIDE_UNIT); // widened as Q8_0 in every build (widenQ45)
    case 'q4_k': case 'q5_k': return kquantScratchBytes(k, rows, q8kStride);
    // relaxed build: widenQ6K's Q6_WIDE per super-block; SIMD128 build: widenQ6Ks's 2320, then
    // the tile's activation rows packed four at a time (packRowsQ8Ks, 2048 bytes per super-block)
    case 'q6_k': return Math.max((k / 256) * 1296, (k / 256) * (2320 + Math.ceil(Math.min(rows, tokenTile(q8kStride)) / 4) * 2048));
    case 'f32': case 'f16': case 'bf16': return k * FLOAT_WIDE_COLUMN;
    default: return 0;
  }
}
