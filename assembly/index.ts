// Entry point of the WASM kernels. The host (src/kernels/wasm/) calls single-threaded ops
// directly and hands multi-threaded ones to `run`, which every thread (the host's own and
// each worker) calls: the job descriptor in memory says what to do, cut into chunks, and
// threads claim chunks one at a time until none are left (a thread that is late or
// descheduled simply claims fewer; each output is still computed by exactly one thread,
// so results do not depend on who did what).
//
// Job descriptor (layouts must match src/kernels/wasm/jobs.ts), bytes from `job`:
//   0  op            1 matmul, 2 quantize activations, 3 attention, 4 read probe, 5 touch,
//                    6 GeGLU
//   4  chunks        number of chunks
//   8  ranges        R: chunk ranges at RANGE_PTR, one 64-bit word per range, 64 bytes apart:
//                    gen24 << 40 | front << 20 | back (chunks [front, back) not yet claimed);
//                    thread ith (< R) claims the front of range ith, then the backs of the
//                    others; a thread that finds another generation there stops
//   16 done          chunks finished (the host waits for done == chunks)
//   32 arguments (i32/f32 words):
//   OP_MATMUL  [count, then count x (kind, w, xq, xs, out, m, k, T, groupsPerChunk, xqThreadBytes,
//               w2, out2, panels, panelGroupBytes, xPanelBytes, part), then scratch,
//               scratchBytes per thread (0: none; Q8_0 prefill widens groups there),
//               then x, nq, nq x (scheme, dst, dstThreadBytes, kPanel, panels, stride)]
//              xq of thread ith is xq + ith * xqThreadBytes. With nq > 0 (one activation row:
//              decode) each thread quantizes x itself into dst + ith * dstThreadBytes when it
//              claims its first chunk (so the job cannot end, and its descriptor cannot be
//              rewritten, while it does): the quantized row stays in that core's cache instead
//              of a serial step whose output every other core then pulls over.
//              w2 != 0 (GeGLU pair): a chunk also computes the same rows of w2 (same kind and
//              shape as w) into out2, then out = gelu_tanh(out) * out2 on those rows, so the
//              gate/up products and their GeGLU take one pool round and no serial pass.
//              Column panels (src/kernels/wasm/layout.ts panelsOf): a matrix of long rows is
//              stored in row blocks of PANEL_GROUPS groups (common.ts; the last block padded),
//              each block as `panels` x4 slices of k columns one after the other (k here is a
//              panel's; panelGroupBytes a group of one panel): a thread still reads one
//              sequential stream. Panel p of an activation row starts xPanelBytes * p into the
//              row (a quantized row is quantized as `panels` rows of k). Panel 0 goes into
//              out, the others into partial sums at part ((panels - 1) planes of T x m floats,
//              then as many for out2), added to out in panel order. So the activation panel a
//              block reads stays in L1 beside the weight stream (a whole row of 6912 columns
//              did not: decode 1.1-1.3x slower from DRAM).
//   OP_QUANT   [scheme (0 Q8A, 1 Q8K), x, k, dst, stride, rows, rowsPerChunk]
//   OP_ATTN    [out, q, K, V, rows, H, G, D, cap, startPos, window, scale f32, softcap f32,
//               scratch, scratchStride (per thread), itemsPerChunk, items, split, part, kv16]
//              (kv16: 1 for a cache of f16 rows)
//              (attention.ts: items of one KV head's group; split > 0: ranges of keys, merged
//              by attnCombine after the job)
//   OP_PROBE   [ptr, bytes, results (one i32 per chunk), linesPerChunk]
//   OP_TOUCH   [ptr, pages, pagesPerChunk]: a zero byte stored every 4096 bytes from ptr, so
//              that the threads take the page faults of fresh memory side by side (a weight's
//              destination before its repacking: src/kernels/wasm/backend.ts uploadWeight)
//   OP_GEGLU   [out, gate, up, n, perChunk]: out = gelu_tanh(gate) * up over elements
//              [c * perChunk, ...) of n (elementwise.ts geglu; the same value for an element
//              whatever the chunking)

import { attention } from './attention';
import { mmBF16, mmF16, mmF32 } from './matmul-f';
import { mmQ4_K, mmQ5_K, mmQ6_K } from './matmul-k';
import { mmQ4_0, mmQ4_1, mmQ5_0, mmQ5_1, mmQ8_0 } from './matmul-q';
import { readProbe } from './probe';
import { quantQ8A, quantQ8K } from './quantize';

import { add, geglu } from './elementwise';
import { PANEL_GROUPS, setPanelBlockStride } from './common';

export { rmsNorm, ropeApply, geglu, add, softcap, scale, expShift, capMax, zero, argmax, toF16 } from './elementwise';
export { attention, attnCombine } from './attention';
export { quantQ8A, quantQ8K, q8aRowBytes, q8kRowBytes } from './quantize';
export { repackX4, sliceQh, offsetQ8_0, q8_0LevelOffset } from './repack';
export { mmF32, mmF16, mmBF16 } from './matmul-f';
export { mmQ8_0, mmQ4_0, mmQ4_1, mmQ5_0, mmQ5_1 } from './matmul-q';
export { mmQ4_K, mmQ5_K, mmQ6_K } from './matmul-k';
export { selfTestDot, selfTestDotQ8 } from './selftest';
export { readProbe } from './probe';

/** bytes per matmul entry of OP_MATMUL (MATMUL_WORDS in src/kernels/wasm/jobs.ts) */
const MATMUL_BYTES: usize = 64;

/** 1 when built with relaxed SIMD */
export function relaxed(): i32 { return ASC_FEATURE_RELAXED_SIMD ? 1 : 0; }

export function matmulOne(kind: i32, w: usize, xq: usize, xs: i32, out: usize, m: i32, k: i32, T: i32, g0: i32, g1: i32, scratch: usize): void {
  switch (kind) {
    case 0: mmF32(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 1: mmF16(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 2: mmBF16(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 3: mmQ8_0(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 4: mmQ4_0(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 5: mmQ4_1(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 6: mmQ5_0(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 7: mmQ5_1(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 8: mmQ4_K(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 9: mmQ5_K(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    case 10: mmQ6_K(w, xq, xs, out, m, k, T, g0, g1, scratch); break;
    default: unreachable();
  }
}

/** run chunk c of the job (ith: the calling thread's index, for per-thread scratch) */
function runChunk(job: usize, op: i32, c: i32, ith: i32): void {
  const a = job + 32;
  if (op == 1) {
    // chunks of all matmuls in order: find the matmul, then its groups
    const count = load<i32>(a);
    // after the entries: the per-thread scratch (base, bytes per thread; 0 = none)
    const sc = a + 4 + <usize>count * MATMUL_BYTES;
    const scratch = load<usize>(sc) == 0 ? 0 : load<usize>(sc) + <usize>ith * <usize>load<i32>(sc, 4);
    for (let i = 0; i < count; i++) {
      const d = a + 4 + <usize>i * MATMUL_BYTES;
      const m = load<i32>(d, 20), cg = load<i32>(d, 32);
      const groups = (m + 3) >> 2;
      const chunks = (groups + cg - 1) / cg;
      if (c < chunks) {
        const g0 = c * cg, g1 = min(groups, g0 + cg);
        const xq = load<usize>(d, 8) + <usize>ith * <usize>load<i32>(d, 36);
        const kind = load<i32>(d), xs = load<i32>(d, 12), out = load<usize>(d, 16), k = load<i32>(d, 24), T = load<i32>(d, 28);
        const w = load<usize>(d, 4), w2 = load<usize>(d, 40), out2 = load<usize>(d, 44);
        const np = load<i32>(d, 48);
        const r0 = g0 << 2, r1 = min(m, g1 << 2);
        if (np <= 1) {
          matmulOne(kind, w, xq, xs, out, m, k, T, g0, g1, scratch);
          if (w2 != 0) matmulOne(kind, w2, xq, xs, out2, m, k, T, g0, g1, scratch);
        } else {
          // column panels: panel 0 into out, the others into the partial sums at part (the
          // pair's second product's after the first's), added below in panel order
          const gsp = <usize>load<i32>(d, 52), xpb = <usize>load<i32>(d, 56), part = load<usize>(d, 60);
          const plane = <usize>T * <usize>m << 2;
          const pstep = gsp * <usize>PANEL_GROUPS; // a panel's slice of a row block
          setPanelBlockStride(pstep * <usize>np);
          // decode: row block by row block, its panels in turn (the weights in memory order: one
          // sequential stream; a pair's second matrix after the first); prefill: panel by panel
          // over all the chunk's groups (the kernels prepare a tile of activation rows once per call)
          const bstep = T == 1 ? PANEL_GROUPS : groups;
          for (let i = 0; i < (w2 != 0 ? 2 : 1); i++) {
            const wi = i == 0 ? w : w2, oi = i == 0 ? out : out2, pi = part + <usize>(i * (np - 1)) * plane;
            for (let b0 = T == 1 ? g0 & ~(PANEL_GROUPS - 1) : g0; b0 < g1; b0 += bstep) {
              const ga = max(g0, b0), gz = min(g1, b0 + bstep);
              for (let p = 0; p < np; p++) {
                matmulOne(kind, wi + <usize>p * pstep, xq + <usize>p * xpb, xs, p == 0 ? oi : pi + <usize>(p - 1) * plane, m, k, T, ga, gz, scratch);
              }
            }
          }
          setPanelBlockStride(0);
          for (let i = 0; i < (w2 != 0 ? 2 : 1); i++) {
            const oi = i == 0 ? out : out2, pi = part + <usize>(i * (np - 1)) * plane;
            for (let t = 0; t < T; t++) {
              const o = (<usize>t * <usize>m + <usize>r0) << 2;
              for (let p = 1; p < np; p++) add(oi + o, oi + o, pi + <usize>(p - 1) * plane + o, r1 - r0);
            }
          }
        }
        // a GeGLU pair: out[t, r0..r1) = gelu_tanh(out) * out2 on this chunk's rows
        if (w2 != 0) {
          for (let t = 0; t < T; t++) {
            const o = (<usize>t * <usize>m + <usize>r0) << 2;
            geglu(out + o, out + o, out2 + o, r1 - r0);
          }
        }
        return;
      }
      c -= chunks;
    }
  } else if (op == 2) {
    const rows = load<i32>(a, 20), per = load<i32>(a, 24);
    const r0 = c * per, r1 = min(rows, r0 + per);
    if (load<i32>(a) == 0) quantQ8A(load<usize>(a, 4), load<i32>(a, 8), load<usize>(a, 12), load<i32>(a, 16), r0, r1);
    else quantQ8K(load<usize>(a, 4), load<i32>(a, 8), load<usize>(a, 12), load<i32>(a, 16), r0, r1);
  } else if (op == 3) {
    const rows = load<i32>(a, 16), H = load<i32>(a, 20), per = load<i32>(a, 60), items = load<i32>(a, 64);
    const i0 = c * per, i1 = min(items, i0 + per);
    attention(load<usize>(a), load<usize>(a, 4), load<usize>(a, 8), load<usize>(a, 12), rows, H,
      load<i32>(a, 24), load<i32>(a, 28), load<i32>(a, 32), load<i32>(a, 36), load<i32>(a, 40),
      load<f32>(a, 44), load<f32>(a, 48), load<usize>(a, 52) + <usize>ith * <usize>load<i32>(a, 56), i0, i1,
      load<i32>(a, 68), load<usize>(a, 72), load<i32>(a, 76));
  } else if (op == 4) {
    const lines = load<i32>(a, 4) >>> 6, per = load<i32>(a, 12);
    const l0 = c * per, l1 = min(lines, l0 + per);
    const p = load<usize>(a);
    store<i32>(load<usize>(a, 8) + (<usize>c << 2), readProbe(p + (<usize>l0 << 6), p + (<usize>l1 << 6)));
  } else if (op == 5) {
    const pages = load<i32>(a, 4), per = load<i32>(a, 8);
    const p0 = c * per, p1 = min(pages, p0 + per);
    const p = load<usize>(a);
    for (let i = p0; i < p1; i++) store<u8>(p + (<usize>i << 12), 0);
  } else if (op == 6) {
    const n = load<i32>(a, 12), per = load<i32>(a, 16);
    const i0 = c * per, i1 = min(n, i0 + per), o = <usize>i0 << 2;
    geglu(load<usize>(a) + o, load<usize>(a, 4) + o, load<usize>(a, 8) + o, i1 - i0);
  } else {
    unreachable();
  }
}

/** a matmul job's per-thread activation quantization (see OP_MATMUL above), for thread ith */
function quantizeOwn(job: usize, ith: i32): void {
  const a = job + 32;
  const t = a + 4 + <usize>load<i32>(a) * MATMUL_BYTES + 8;
  const x = load<usize>(t), nq = load<i32>(t, 4);
  for (let i = 0; i < nq; i++) {
    // (scheme, dst, dstThreadBytes, k, panels, stride): x as `panels` rows of k (see above)
    const q = t + 8 + <usize>i * 24;
    const dst = load<usize>(q, 4) + <usize>ith * <usize>load<i32>(q, 8);
    const k = load<i32>(q, 12), np = load<i32>(q, 16), stride = load<i32>(q, 20);
    if (load<i32>(q) == 0) quantQ8A(x, k, dst, stride, 0, np);
    else quantQ8K(x, k, dst, stride, 0, np);
  }
}

/** chunk ranges (src/kernels/wasm/jobs.ts RANGE_PTR, RANGE_STRIDE) */
const RANGE_PTR: usize = 12288;
const RANGE_STRIDE: usize = 64;

/**
 * Claim and run chunks of the job of generation `gen` until none are left: first the front
 * of this thread's own range (its chunks one after the other: one stream of weights), then
 * chunks from the back of the other ranges (a late thread's work is taken over).
 */
export function run(job: usize, gen: i32, ith: i32): void {
  const op = load<i32>(job);
  const chunks = load<i32>(job, 4);
  const R = load<i32>(job, 8);
  const done = job + 16;
  const g = <u64>(gen & 0xffffff);
  let own = false;
  for (let v = 0; v < R; v++) {
    const word = RANGE_PTR + <usize>((ith + v) % R) * RANGE_STRIDE;
    for (;;) {
      const cur = atomic.load<u64>(word);
      if (cur >> 40 != g) return; // another job's ranges: ours is over
      const front = <i32>(cur >> 20) & 0xfffff, back = <i32>cur & 0xfffff;
      if (front >= back) break;
      const c = v == 0 ? front : back - 1;
      if (atomic.cmpxchg<u64>(word, cur, v == 0 ? cur + (1 << 20) : cur - 1) != cur) continue;
      // holding a chunk: the job (and its descriptor) lives until this thread is done with it
      if (op == 1 && !own) { quantizeOwn(job, ith); own = true; }
      runChunk(job, op, c, ith);
      if (atomic.add<i32>(done, 1) + 1 == chunks) atomic.notify(done, 1);
    }
  }
}
