/// <reference types="@webgpu/types" />
/**
 * The WebGPU test environment: Dawn (npm `webgpu`) over a CPU Vulkan driver. Each test file
 * names the driver it runs on (vitest gives every file its own process, and Dawn's driver is
 * fixed per process): SwiftShader for the f32 path, lavapipe for the f16 path, so one
 * `npx vitest run test/webgpu` covers both. GEMMA_WEBGPU_ICD=swiftshader|lavapipe|<icd.json>
 * overrides the driver for every file, and GEMMA_WEBGPU_ICD=system lets Dawn pick (a real GPU).
 * Install the drivers with .ci/gpu-drivers.sh. When the driver is missing the file skips with
 * a loud message, so machines without the drivers still pass; with GEMMA_WEBGPU_REQUIRE=1
 * (CI, where the drivers are installed) a missing adapter fails instead.
 */
import { WebGpuBackend, type WebGpuOptions } from '../../src/kernels/webgpu/backend.js';
import { nodeGpu } from '../../src/kernels/webgpu/node-gpu.js';

export interface GpuEnv {
  available: boolean;
  /** why not, when not */
  reason: string;
  icd: string;
  gpu?: GPU;
  hasF16: boolean;
  hasSubgroups: boolean;
  description: string;
}

export type Driver = 'swiftshader' | 'lavapipe';

let cached: Promise<GpuEnv> | null = null;

/** the test environment of this file (process), on `driver` unless GEMMA_WEBGPU_ICD says otherwise */
export function gpuEnv(driver: Driver): Promise<GpuEnv> {
  return cached ??= (async () => {
    const icd = process.env.GEMMA_WEBGPU_ICD || driver;
    const none = (reason: string): GpuEnv => {
      if (process.env.GEMMA_WEBGPU_REQUIRE === '1') throw new Error(`GEMMA_WEBGPU_REQUIRE=1 but no WebGPU adapter: ${reason}`);
      const bar = '!'.repeat(100);
      console.warn(`\n${bar}\n!! WebGPU tests SKIPPED: ${reason}\n!! Install the CPU Vulkan drivers with .ci/gpu-drivers.sh (or set GEMMA_WEBGPU_ICD=system on a machine with a GPU)\n${bar}\n`);
      return { available: false, reason, icd, hasF16: false, hasSubgroups: false, description: '' };
    };
    try {
      const gpu = nodeGpu(icd === 'system' ? {} : { icd });
      const a = await gpu.requestAdapter();
      if (!a) return none(`Dawn found no adapter with ICD ${icd}`);
      return {
        available: true, reason: '', icd, gpu,
        hasF16: a.features.has('shader-f16'), hasSubgroups: a.features.has('subgroups'),
        description: `${a.info?.description ?? '?'} (${icd})`,
      };
    } catch (e) {
      return none(`${(e as Error).message}`);
    }
  })();
}

/** one backend per configuration and test file (devices are not free on CPU drivers) */
export function backendFactory(env: GpuEnv, opts: WebGpuOptions): () => Promise<WebGpuBackend> {
  let b: Promise<WebGpuBackend> | null = null;
  return () => (b ??= WebGpuBackend.create({ gpu: env.gpu, ...opts }));
}
