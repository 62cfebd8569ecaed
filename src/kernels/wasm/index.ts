/**
 * The WASM SIMD CPU backend. Importing this module registers it as 'wasm':
 *
 *   import './kernels/wasm/index.js';
 *   const be = await createBackend('wasm', { threads: 2 });
 *
 * or directly `await createWasmBackend({ threads, relaxed, dotAdd, shared })` (backend.ts), whose
 * `info` says what it runs on (threads, relaxed SIMD or SIMD128 and why not, if not; the
 * dot-add build or not).
 *
 * - Kernels: AssemblyScript in assembly/, built by scripts/build-wasm.mjs into a SIMD128, a
 *   SIMD128 + relaxed-SIMD and a relaxed dot-add module (src/kernels/wasm/generated/, not
 *   committed); the relaxed one is used where the engine validates it and it passes a
 *   known-answer self-test, the dot-add one in its place where it also passes and a start-up
 *   probe finds it faster (loader.ts).
 * - Threads: workers (worker_threads in Node, Web Workers in browsers) on one shared memory.
 *   Browsers need cross-origin isolation (COOP/COEP) for that; without it the backend runs
 *   single-threaded and says so in `info.notes`. The browser's main thread may not
 *   Atomics.wait, so there it only spins while workers finish: run the engine in a worker.
 * - Memory: wasm32, at most 4 GiB for weights + KV cache + activations (heap.ts).
 */
import { registerBackend } from '../index.js';
import { createWasmBackend, type WasmBackendOptions } from './backend.js';

export { WasmBackend, createWasmBackend, type WasmBackendInfo, type WasmBackendOptions } from './backend.js';

registerBackend('wasm', (opts) => createWasmBackend(opts as WasmBackendOptions));
