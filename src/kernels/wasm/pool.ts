/**
 * The thread pool: N-1 workers (Node worker_threads or Web Workers) that instantiate the
 * same kernels on the same shared memory; the calling thread is thread 0. A job is a
 * descriptor in wasm memory (jobs.ts), cut into chunks; `run` publishes it under a new
 * generation, claims chunks itself like every worker, and returns when all chunks are done.
 * Each thread owns a contiguous range of the chunks (one stream of weights) and, when it is
 * done with it, takes chunks from the back of the others' ranges (jobs.ts RANGE_PTR): a
 * worker that is late (descheduled on a busy machine, or a slower core) does less instead
 * of holding everyone up.
 *
 * Barriers spin first and sleep later: a sleeping Atomics.wait round trip costs tens of µs
 * and a decode step has 100+ rounds, while a spin answers in well under a µs. Workers spin
 * for `spinMs` after their last job before they sleep in Atomics.wait (so they do not burn
 * a core while the engine is idle); the caller spins on the done counter, and where it may
 * block (Node, or a worker) it falls back to short Atomics.waits after `spinMs`. The browser
 * main thread may not Atomics.wait at all: there it only spins, so run the engine in a worker.
 *
 * The worker code is a self-contained string (worker-source.ts), so the pool works the same
 * from the TypeScript sources (vitest, tsx) and from the esbuild bundles.
 */
import { GemmaError } from '../../errors.js';
import { CTRL, CTRL_WORDS, GEN_MASK, JOB, publishRanges, rangeWords } from './jobs.js';
import { WORKER_SOURCE } from './worker-source.js';

interface AnyWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

export interface PoolOptions {
  /** workers: spin time after a job before sleeping (ms) */
  spinMs: number;
  /** calling thread: spin time waiting for the workers before sleeping (ms) */
  mainSpinMs: number;
  /** a job that makes no progress for this long fails instead of hanging (ms) */
  timeoutMs: number;
}

function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export class ThreadPool {
  private readonly c: Int32Array;
  private readonly j: Int32Array;
  private readonly ranges: BigInt64Array;
  private readonly blockOk = canBlock();
  private gen = 0;
  private disposed = false;
  /** false: one range that all threads claim from the front (what a single shared counter
   *  does: the threads' chunks interleave); for benchmarks comparing the two */
  perThreadRanges = true;

  private constructor(
    readonly threads: number,
    private readonly workers: AnyWorker[],
    memory: WebAssembly.Memory,
    ctrlPtr: number,
    jobPtr: number,
    private readonly runLocal: (job: number, gen: number, ith: number) => void,
    private readonly opts: PoolOptions,
    private readonly errors: string[],
  ) {
    this.c = new Int32Array(memory.buffer, ctrlPtr, CTRL_WORDS);
    this.j = new Int32Array(memory.buffer, jobPtr, JOB.ARGS);
    this.ranges = rangeWords(memory.buffer);
  }

  /** start `threads - 1` workers on `module` + `memory` (shared) and wait until they are ready */
  static async create(
    module: WebAssembly.Module, memory: WebAssembly.Memory, ctrlPtr: number, jobPtr: number, threads: number,
    runLocal: (job: number, gen: number, ith: number) => void, opts: PoolOptions,
  ): Promise<ThreadPool> {
    const c = new Int32Array(memory.buffer, ctrlPtr, CTRL_WORDS);
    c.fill(0);
    const errors: string[] = [];
    const workers: AnyWorker[] = [];
    const ready: Promise<void>[] = [];
    const isNode = !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
    const nodeWorker = isNode ? (await import('node:worker_threads')).Worker : undefined;
    for (let id = 1; id < threads; id++) {
      const data = { module, memory, ctrl: ctrlPtr, job: jobPtr, id, spinMs: opts.spinMs };
      let w: AnyWorker;
      let on: (ev: 'message' | 'error', f: (x: unknown) => void) => void;
      if (nodeWorker) {
        const nw = new nodeWorker(WORKER_SOURCE, { eval: true, workerData: data });
        nw.unref(); // an idle pool must not keep the process alive
        w = nw;
        on = (ev, f) => { nw.on(ev, f); };
      } else {
        const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
        const bw = new Worker(url);
        URL.revokeObjectURL(url);
        bw.postMessage(data);
        w = bw;
        on = (ev, f) => { bw.addEventListener(ev, (e) => f(ev === 'message' ? (e as MessageEvent).data : (e as ErrorEvent).message)); };
      }
      workers.push(w);
      ready.push(new Promise<void>((resolve, reject) => {
        on('message', (m) => {
          if (m === 'ready') resolve();
          else if (typeof m === 'string' && m.startsWith('error:')) { errors.push(m.slice(6)); reject(new GemmaError('BACKEND', `wasm worker ${id}: ${m.slice(6)}`)); }
        });
        on('error', (e) => { errors.push(String(e)); reject(new GemmaError('BACKEND', `wasm worker ${id} failed: ${String(e)}`)); });
      }));
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      Atomics.store(c, CTRL.QUIT, 1);
      for (const w of workers) void w.terminate();
      throw e;
    }
    return new ThreadPool(threads, workers, memory, ctrlPtr, jobPtr, runLocal, opts, errors);
  }

  /**
   * Run the job whose descriptor (op, chunks, arguments) the caller has written at the job
   * address, on every thread; returns when all its chunks are done.
   */
  run(job: number): void {
    if (this.disposed) throw new GemmaError('BACKEND', 'the wasm thread pool was disposed');
    const c = this.c, j = this.j;
    // 1 .. GEN_MASK - 1: range words keep 24 bits, and GEN_MASK itself is LOCAL_GEN's
    this.gen = (this.gen % (GEN_MASK - 1)) + 1;
    const gen = this.gen;
    Atomics.store(j, JOB.DONE, 0);
    // the ranges before the generation: a worker woken by the new generation finds them
    publishRanges(j, this.ranges, gen, this.perThreadRanges ? this.threads : 1);
    Atomics.store(c, CTRL.GEN, gen);
    if (Atomics.load(c, CTRL.SLEEPERS) > 0) Atomics.notify(c, CTRL.GEN);
    let localError: unknown;
    try {
      this.runLocal(job, gen, 0);
    } catch (e) {
      localError = e; // still wait: the workers are using the same buffers
    }
    this.waitDone(j[JOB.CHUNKS]!);
    const err = Atomics.load(c, CTRL.ERR);
    if (localError !== undefined) throw localError;
    if (err) {
      Atomics.store(c, CTRL.ERR, 0);
      throw new GemmaError('BACKEND', `wasm worker ${err} failed in a kernel (a trap: out-of-bounds memory access?)`);
    }
  }

  private waitDone(chunks: number): void {
    const c = this.c, j = this.j;
    let spins = 0;
    let t0 = 0, lastDone = -1, lastProgress = 0;
    for (;;) {
      const done = Atomics.load(j, JOB.DONE);
      if (done >= chunks) return;
      if ((++spins & 255) !== 0) continue;
      if (Atomics.load(c, CTRL.ERR)) return; // a worker threw: its chunk will never be done
      // spinning for a while: look at the clock now and then
      const now = performance.now();
      if (t0 === 0) { t0 = now; lastProgress = now; }
      if (done !== lastDone) { lastDone = done; lastProgress = now; }
      if (now - lastProgress > this.opts.timeoutMs) {
        throw new GemmaError('BACKEND', `wasm workers made no progress for ${this.opts.timeoutMs} ms (${done}/${chunks} chunks done)`);
      }
      // the chunk still running belongs to a worker that is probably descheduled (more
      // runnable threads than cores): stop competing for the core and sleep until it is done
      if (this.blockOk && now - t0 > this.opts.mainSpinMs) {
        Atomics.store(c, CTRL.MAIN_SLEEP, 1);
        if (Atomics.load(j, JOB.DONE) === done) Atomics.wait(j, JOB.DONE, done, 1);
        Atomics.store(c, CTRL.MAIN_SLEEP, 0);
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.c, CTRL.QUIT, 1);
    Atomics.store(this.c, CTRL.GEN, -2); // a value no job uses: wakes every worker
    Atomics.notify(this.c, CTRL.GEN);
    for (const w of this.workers) void w.terminate();
  }

  /** messages of workers that failed (diagnostics) */
  get workerErrors(): readonly string[] { return this.errors; }
}
