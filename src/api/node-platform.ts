/** Node/Deno platform hooks for loadModel: local paths and WebGPU through the `webgpu` package. */
import { existsSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GemmaError } from '../errors.js';
import { nodeDirFileSet } from '../io/node-dir.js';
import { FileSource } from '../io/node-file.js';
import type { Platform } from './load-model.js';
import type { ResolvedSource } from './sources.js';

/** A .gguf path or a model directory. */
export async function openPath(path: string): Promise<ResolvedSource> {
  let st;
  try { st = await stat(path); } catch (cause) { throw new GemmaError('IO', `cannot open ${path}`, { file: path, cause }); }
  if (st.isDirectory()) return { kind: 'fileset', files: nodeDirFileSet(path), name: path };
  return { kind: 'gguf', source: await FileSource.open(path), name: path };
}

/**
 * Linux without GPU device nodes (/dev/dri/renderD*, /dev/nvidia*) has only software Vulkan
 * drivers: probing Dawn there costs time and prints driver warnings for an adapter 'auto'
 * would reject anyway.
 */
function noGpuDevice(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri').some((f) => f.startsWith('render')) : false;
    const nv = readdirSync('/dev').some((f) => /^nvidia\d/.test(f));
    return !dri && !nv;
  } catch {
    return false;
  }
}

/** Node: install Dawn (npm package `webgpu`) as the WebGPU provider (src/kernels/webgpu/node-gpu.ts does on import). */
async function prepareWebGpu(explicit: boolean): Promise<void> {
  if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) return;
  if (!explicit && !process.env.GEMMA_WEBGPU_ICD && noGpuDevice()) return;
  await import('../kernels/webgpu/node-gpu.js').catch(() => {});
}

export const nodePlatform: Platform = { openPath, prepareWebGpu, defaultCache: false };
