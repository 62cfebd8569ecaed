/// <reference types="@webgpu/types" />
/**
 * Node adapter: WebGPU from Dawn (npm package `webgpu`). Importing this module installs it as
 * the 'webgpu' backend's GPU provider. The only Node-specific file of the backend.
 *
 * Driver choice (Vulkan loader): VK_ICD_FILENAMES must be set before Dawn starts; `icd`
 * (or the environment variable GEMMA_WEBGPU_ICD) may name a JSON file or one of
 *   swiftshader  /usr/lib/chromium/vk_swiftshader_icd.json   (Debian chromium; no shader-f16)
 *   lavapipe     /usr/share/vulkan/icd.d/lvp_icd.json         (Mesa >= 25; shader-f16, subgroups)
 *   system       leave the Vulkan loader alone
 * Without either, Dawn picks among the installed drivers (a real GPU when there is one).
 */
import { existsSync } from 'node:fs';
import { GemmaError } from '../../errors.js';
import { setGpuProvider } from './gpu-provider.js';

// `webgpu` is optional for users of the package: loaded here, at import time of this module only
const dawn: { create(flags: string[]): unknown } | null = await import('webgpu').catch(() => null);

export const ICDS: Readonly<Record<string, string>> = {
  swiftshader: '/usr/lib/chromium/vk_swiftshader_icd.json',
  lavapipe: '/usr/share/vulkan/icd.d/lvp_icd.json',
};

export interface NodeGpuOptions {
  /** 'swiftshader' | 'lavapipe' | a path to a Vulkan ICD JSON (default: GEMMA_WEBGPU_ICD) */
  icd?: string;
  /** extra Dawn flags, e.g. 'enable-dawn-features=...' */
  flags?: string[];
}

let instance: GPU | null = null;
let instanceIcd: string | undefined;

/** resolve an ICD name or path; throws for an unknown name or a missing file */
export function resolveIcd(icd: string): string {
  const path = ICDS[icd] ?? icd;
  if (!existsSync(path)) throw new GemmaError('BACKEND', `Vulkan driver ${JSON.stringify(icd)} not found (${path}); run .ci/gpu-drivers.sh`);
  return path;
}

/** Dawn's GPU object (one per process: the Vulkan driver is fixed when it starts). */
export function nodeGpu(opts: NodeGpuOptions = {}): GPU {
  let icd = opts.icd ?? process.env.GEMMA_WEBGPU_ICD;
  if (icd === 'system') icd = undefined;
  if (instance) {
    if (icd && resolveIcd(icd) !== instanceIcd) throw new GemmaError('BACKEND', `Dawn already started with ${instanceIcd ?? 'the default drivers'}; one driver per process`);
    return instance;
  }
  if (icd) {
    instanceIcd = resolveIcd(icd);
    process.env.VK_ICD_FILENAMES = instanceIcd;
  }
  if (!dawn) throw new GemmaError('BACKEND', 'WebGPU in Node needs the npm package `webgpu` (npm i webgpu)');
  try {
    instance = dawn.create(opts.flags ?? []) as unknown as GPU;
  } catch (e) {
    throw new GemmaError('BACKEND', `cannot start Dawn (npm package webgpu): ${(e as Error).message}`, { cause: e });
  }
  return instance;
}

/** drop the Dawn instance so the process can exit (Dawn keeps it alive while referenced) */
export function releaseNodeGpu(): void { instance = null; }

setGpuProvider(() => nodeGpu());
