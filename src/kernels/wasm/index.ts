/**
 * The WASM SIMD CPU backend. Importing this module registers it as 'wasm':
 *   const be = await createBackend('wasm', { threads: 2 });
 * or directly: `await createWasmBackend({ threads, relaxed, shared })` (backend.ts).
 */
import { registerBackend } from '../index.js';
import { createWasmBackend, type WasmBackendOptions } from './backend.js';

export { WasmBackend, createWasmBackend, type WasmBackendInfo, type WasmBackendOptions } from './backend.js';

registerBackend('wasm', (opts) => createWasmBackend(opts as WasmBackendOptions));
