/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend, registered as 'webgpu' when this module is imported.
 * Options (createBackend('webgpu', opts)): see WebGpuOptions in device.ts —
 *   gpu         a GPU object (default navigator.gpu, else the installed provider: in Node,
 *               import './node-gpu.js' first, which installs Dawn from the `webgpu' package)
 *   preferF16   use shader-f16 when present (default true)
 *   subgroups   use subgroup reductions when present (default true)
 *   profile     per-kernel GPU time via timestamp queries (WebGpuBackend.profile())
 *   maxBindingBytes  cap on one storage binding (tests)
 */
import { registerBackend } from '../index.js';
import { WebGpuBackend, type WebGpuOptions } from './backend.js';
import { defaultGpu } from './gpu-provider.js';

export { WebGpuBackend, type WebGpuInfo, type WebGpuOptions } from './backend.js';
export { setGpuProvider } from './gpu-provider.js';

export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  return WebGpuBackend.create({ ...opts, gpu: opts.gpu ?? (await defaultGpu()) });
}

registerBackend('webgpu', (opts) => createWebGpuBackend(opts as WebGpuOptions));
