/**
 * Picking a backend. The optional backends register themselves (registerBackend) when their
 * module is imported; we import them here without failing when one is not built.
 *
 *   'auto'   WebGPU when a (non-fallback) adapter exists, else WASM, else the reference backend
 *   'webgpu' | 'wasm' | 'reference' | any registered name: that one, or GemmaError('BACKEND')
 *   a Backend object: used as is
 */
import { GemmaError } from '../errors.js';
import type { Backend } from '../kernels/backend.js';
import { backendNames, createBackend } from '../kernels/index.js';
import { defaultGpu } from '../kernels/webgpu/gpu-provider.js';

export type BackendChoice = 'auto' | 'webgpu' | 'wasm' | 'reference' | (string & {}) | Backend;

export interface PickedBackend {
  backend: Backend;
  name: string;
  /** why this backend (for progress output) */
  reason: string;
}

const OPTIONAL = ['wasm', 'webgpu'] as const;
let optionalLoaded: Promise<string[]> | undefined;

/**
 * Import the optional backend modules (src/kernels/<name>/index.ts). The template-literal
 * import is bundled by esbuild as a glob and resolved by Node/tsx/Deno at run time; a missing
 * module is simply not registered. Returns notes on the ones that failed to load.
 */
export function loadOptionalBackends(): Promise<string[]> {
  optionalLoaded ??= (async () => {
    const notes: string[] = [];
    for (const name of OPTIONAL) {
      try {
        await import(`../kernels/${name}/index.ts`);
      } catch (e) {
        const msg = (e as Error)?.message ?? String(e);
        if (!/cannot find|not found|failed to (fetch|resolve)|no such file|unknown file|module not found/i.test(msg)) notes.push(`${name}: ${msg}`);
      }
    }
    return notes;
  })();
  return optionalLoaded;
}

interface AdapterLike { isFallbackAdapter?: boolean; info?: { isFallbackAdapter?: boolean; architecture?: string } }

/**
 * Whether a WebGPU adapter that is not a software fallback (llvmpipe, SwiftShader) is available:
 * navigator.gpu in browsers and Deno, or the provider a platform installed (Node: Dawn).
 */
export async function hasWebGpuAdapter(): Promise<boolean> {
  try {
    const gpu = await defaultGpu();
    if (!gpu) return false;
    const a = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) as AdapterLike | null;
    if (!a) return false;
    const fallback = a.isFallbackAdapter ?? a.info?.isFallbackAdapter ?? false;
    return !fallback && a.info?.architecture !== 'software';
  } catch {
    return false;
  }
}

export interface PickOptions {
  threads?: number;
  /** platform hook run before WebGPU is probed (Node: install Dawn from the webgpu package); explicit = backend 'webgpu' was asked for */
  prepareWebGpu?: (explicit: boolean) => Promise<void>;
  /** extra options for the backend's factory (e.g. { profile: true } for WebGPU timestamps) */
  backendOptions?: Readonly<Record<string, unknown>>;
}

export async function pickBackend(choice: BackendChoice = 'auto', o: PickOptions = {}): Promise<PickedBackend> {
  if (typeof choice === 'object' && choice !== null) return { backend: choice, name: choice.name, reason: 'given' };
  if (typeof choice !== 'string') throw new GemmaError('BAD_ARGUMENT', `backend must be 'auto', a backend name or a Backend`, { field: 'backend' });
  const notes = await loadOptionalBackends();
  const opts = { ...o.backendOptions, ...(o.threads !== undefined ? { threads: o.threads } : {}) };
  if (choice !== 'auto') {
    if (choice === 'webgpu') await o.prepareWebGpu?.(true).catch(() => {});
    if (!backendNames().includes(choice)) {
      const why = notes.find((n) => n.startsWith(choice + ':'));
      throw new GemmaError('BACKEND', `backend ${JSON.stringify(choice)} is not available here (have: ${backendNames().join(', ')})${why ? `; ${why}` : ''}`);
    }
    return { backend: await createBackend(choice, opts), name: choice, reason: 'requested' };
  }
  const tried: string[] = [];
  if (backendNames().includes('webgpu')) {
    await o.prepareWebGpu?.(false).catch(() => {});
    if (await hasWebGpuAdapter()) {
      try {
        return { backend: await createBackend('webgpu', opts), name: 'webgpu', reason: 'auto: WebGPU adapter found' };
      } catch (e) {
        tried.push(`webgpu failed (${(e as Error).message})`);
      }
    } else tried.push('no WebGPU adapter');
  } else tried.push('WebGPU backend not built');
  if (backendNames().includes('wasm')) {
    try {
      return { backend: await createBackend('wasm', opts), name: 'wasm', reason: `auto: ${tried.join(', ')}` };
    } catch (e) {
      tried.push(`wasm failed (${(e as Error).message})`);
    }
  } else tried.push('WASM backend not built');
  return { backend: await createBackend('reference', opts), name: 'reference', reason: `auto: ${tried.join(', ')}` };
}
