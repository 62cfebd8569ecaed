/**
 * Shared by the wasm tests: build the kernels if they are missing or stale (so that
 * `npx vitest run test/wasm` works in a fresh checkout), and load the backend module after
 * that (it imports the generated kernels lazily).
 */
import { execFileSync } from 'node:child_process';
import type { WasmBackend, WasmBackendOptions } from '../../src/kernels/wasm/backend.js';

let built = false;
export function ensureWasmBuilt(): void {
  if (built) return;
  // the script checks staleness itself and writes its output atomically
  execFileSync(process.execPath, ['scripts/build-wasm.mjs'], { stdio: 'inherit' });
  built = true;
}

export async function wasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  ensureWasmBuilt();
  const { createWasmBackend } = await import('../../src/kernels/wasm/backend.js');
  return createWasmBackend({ threads: 1, ...opts });
}
