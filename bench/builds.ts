/** `--build auto|simd|relaxed|dotadd` of the benchmark scripts (compare-llama, profile-decode, wasm-kernels). */
import type { WasmBackendOptions } from '../src/kernels/wasm/backend.js';

/**
 * createWasmBackend options that pick a kernel build: auto (the engine's choice), simd (what
 * engines without relaxed SIMD run: Safari, Firefox by default), relaxed (the plain relaxed
 * build: Node 20 and 22), dotadd (Node 24+, recent Chromium)
 */
export function wasmBuildOptions(build: string): WasmBackendOptions {
  const o: Record<string, WasmBackendOptions> = { auto: {}, simd: { relaxed: false }, relaxed: { dotAdd: false }, dotadd: { dotAdd: true } };
  const r = o[build];
  if (!r) throw new Error(`--build auto|simd|relaxed|dotadd, got ${build}`);
  return r;
}
