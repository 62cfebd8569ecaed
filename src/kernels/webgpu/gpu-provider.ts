/// <reference types="@webgpu/types" />
/**
 * Where the 'webgpu' backend gets a GPU object when the caller passes none and there is no
 * navigator.gpu: a provider that a platform adapter installs (node-gpu.ts installs Dawn's).
 * Kept apart so the browser bundle never imports the Node adapter.
 */
export type GpuProvider = () => GPU | undefined | Promise<GPU | undefined>;

let provider: GpuProvider | null = null;

export function setGpuProvider(p: GpuProvider | null): void { provider = p; }

export async function defaultGpu(): Promise<GPU | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  return provider ? await provider() : undefined;
}
