/**
 * Job descriptors and the pool's control block in wasm memory. The descriptor layout must
 * match assembly/index.ts (`run`); the control words match worker-source.ts.
 *
 * Descriptor at JOB_PTR (bytes):
 *   0  op          OP_*
 *   4  chunks      the job is cut into this many chunks; threads claim them one by one
 *   8  claim i64   generation << 32 | next chunk (written with one 64-bit atomic store)
 *   16 done        chunks finished; the job is over when done == chunks
 *   32 arguments   (i32 / f32 words, per op:)
 *   OP_MATMUL  [count, then count x (kind, w, xq, xs, out, m, k, T, groupsPerChunk,
 *               xqThreadBytes, w2, out2)   12 words each (w2 != 0: a GeGLU pair, out =
 *               gelu_tanh(x w^T) * (x w2^T) per chunk, out2 = x w2^T), then scratch,
 *               scratchBytes per thread (0: none),
 *               then x, k, nq, nq x (scheme, dst, dstThreadBytes)]: with nq > 0 every thread
 *               quantizes x (one row) into its own dst + ith * dstThreadBytes (assembly/index.ts)
 *   OP_QUANT   [scheme (0 Q8A, 1 Q8K), x, k, dst, stride, rows, rowsPerChunk]
 *   OP_ATTN    [out, q, K, V, rows, H, G, D, cap, startPos, window, scale f32, softcap f32,
 *               scratch, scratchStride, itemsPerChunk]
 *   OP_PROBE   [ptr, bytes, results (one i32 per chunk), linesPerChunk]
 */
export const OP_MATMUL = 1;
export const OP_QUANT = 2;
export const OP_ATTN = 3;
export const OP_PROBE = 4;

/** i32 word indices of the descriptor header, and of the first argument */
export const JOB = { OP: 0, CHUNKS: 1, CLAIM_LO: 2, CLAIM_HI: 3, DONE: 4, ARGS: 8 } as const;
/** words per matmul entry of OP_MATMUL */
export const MATMUL_WORDS = 12;

/** bytes per Q8_0 block column (unit) in a matmul's per-thread scratch, where prefill widens
 *  a group of four weight rows to int16 once for all activation rows (assembly/matmul-q.ts) */
export const Q8_0_WIDE_UNIT = 272;

/** most matmuls sharing one input that one job may carry */
export const MAX_FUSED = 8;

/** the generation of jobs run by the calling thread alone (the pool never uses it) */
export const LOCAL_GEN = -1;

/** control block: Int32 word indices */
export const CTRL = {
  GEN: 0,        // generation of the current job (> 0); workers wait for it to change
  SLEEPERS: 2,   // workers sleeping in Atomics.wait on GEN
  ERR: 3,        // id of a worker whose kernel threw (0 = none)
  QUIT: 4,       // 1: workers leave their loop
  MAIN_SLEEP: 5, // 1: the calling thread sleeps on the job's done word
} as const;
export const CTRL_WORDS = 16;

/** fixed addresses inside the reserved first 64 KiB of memory (heap.ts) */
export const CTRL_PTR = 1024;
export const JOB_PTR = 4096;
export const JOB_BYTES = 8192;
