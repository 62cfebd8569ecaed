/// <reference types="@webgpu/types" />
/**
 * The WebGPU test environment: Dawn (npm `webgpu`) over a CPU Vulkan driver chosen with
 * GEMMA_WEBGPU_ICD=swiftshader|lavapipe|<icd.json> (default: swiftshader if installed, else
 * lavapipe). Install both with .ci/gpu-drivers.sh. When no adapter is found the suites skip
 * with a loud message, so machines without the drivers still pass; with GEMMA_WEBGPU_REQUIRE=1
 * (CI, where the drivers are installed) a missing adapter fails instead.
 */
import { existsSync } from 'node:fs';
import { WebGpuBackend, type WebGpuOptions } from '../../src/kernels/webgpu/backend.js';
import { ICDS, nodeGpu } from '../../src/kernels/webgpu/node-gpu.js';

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

function defaultIcd(): string {
  if (process.env.GEMMA_WEBGPU_ICD) return process.env.GEMMA_WEBGPU_ICD;
  if (existsSync(ICDS.swiftshader!)) return 'swiftshader';
  if (existsSync(ICDS.lavapipe!)) return 'lavapipe';
  return '';
}

let cached: Promise<GpuEnv> | null = null;

export function gpuEnv(): Promise<GpuEnv> {
  return cached ??= (async () => {
    const icd = defaultIcd();
    const none = (reason: string): GpuEnv => {
      if (process.env.GEMMA_WEBGPU_REQUIRE === '1') throw new Error(`GEMMA_WEBGPU_REQUIRE=1 but no WebGPU adapter: ${reason}`);
      const bar = '!'.repeat(100);
      console.warn(`\n${bar}\n!! WebGPU tests SKIPPED: ${reason}\n!! Install the CPU Vulkan drivers with .ci/gpu-drivers.sh and set GEMMA_WEBGPU_ICD=swiftshader|lavapipe\n${bar}\n`);
      return { available: false, reason, icd, hasF16: false, hasSubgroups: false, description: '' };
    };
    if (!icd) return none('no Vulkan ICD (SwiftShader or lavapipe) found');
    try {
      const gpu = nodeGpu({ icd });
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
