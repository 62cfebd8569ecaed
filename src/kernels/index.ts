/** Backend registry: 'reference' is always there; 'wasm' and 'webgpu' register factories when their modules load. */
import { GemmaError } from '../errors.js';
import type { Backend } from './backend.js';
import { ReferenceBackend } from './reference/index.js';

export type BackendName = 'reference' | 'wasm' | 'webgpu' | (string & {});
export interface BackendOptions { threads?: number; [k: string]: unknown }
export type BackendFactory = (opts: BackendOptions) => Promise<Backend>;

const factories = new Map<string, BackendFactory>([
  ['reference', async () => new ReferenceBackend()],
]);

export function registerBackend(name: string, f: BackendFactory): void { factories.set(name, f); }
export function backendNames(): string[] { return [...factories.keys()]; }

export async function createBackend(name: BackendName, opts: BackendOptions = {}): Promise<Backend> {
  const f = factories.get(name);
  if (!f) throw new GemmaError('BACKEND', `backend ${JSON.stringify(name)} is not available (have: ${backendNames().join(', ')})`);
  return f(opts);
}
