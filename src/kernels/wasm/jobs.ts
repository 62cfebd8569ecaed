/**
 * Job descriptors and the pool's control block in wasm memory. The layouts must match
 * assembly/index.ts (`run`) and worker-source.ts; test/wasm/jobs.test.ts checks the kernels
 * against them through the backend.
 *
 *   OP_MATMUL  [1, count, then count x (kind, w, xq, xs, out, m, k, T)]       8 words each
 *   OP_QUANT   [2, scheme (0 Q8A, 1 Q8K), x, k, dst, stride, rows]
 *   OP_ATTN    [3, out, q, K, V, rows, H, G, D, cap, startPos, window, scale f32, softcap f32,
 *               scratch, scratchStride]
 *   OP_PROBE   [4, ptr, bytes, results (one i32 per thread)]
 */
export const OP_MATMUL = 1;
export const OP_QUANT = 2;
export const OP_ATTN = 3;
export const OP_PROBE = 4;

/** most matmuls sharing one input that one job may carry */
export const MAX_FUSED = 8;

/** control block: Int32 word indices */
export const CTRL = {
  GEN: 0,        // generation counter: bumped once per job; workers wait on it
  DONE: 1,       // workers finished with the current job
  SLEEPERS: 2,   // workers sleeping in Atomics.wait on GEN
  ERR: 3,        // id of a worker whose kernel threw (0 = none)
  QUIT: 4,       // 1: workers leave their loop
  MAIN_SLEEP: 5, // 1: the calling thread sleeps on DONE
  JOB: 6,        // address of the current job descriptor
} as const;
export const CTRL_WORDS = 16;

/** fixed addresses inside the reserved first 64 KiB of memory (heap.ts) */
export const CTRL_PTR = 1024;
export const JOB_PTR = 4096;
export const JOB_BYTES = 8192;
