/**
 * Which backend configurations the WebGPU suites run, by driver:
 *   swiftshader (no shader-f16, subgroups of 4): the f32 path, with subgroup reductions and
 *                with the workgroup-memory fallback
 *   lavapipe (Mesa >= 25: shader-f16, subgroups of 8): the f16 path, with and without subgroups
 * Any other adapter: whatever it has (f16 when present).
 */
import type { WebGpuOptions } from '../../src/kernels/webgpu/backend.js';
import type { DType } from '../../src/tensor/dtype.js';
import type { GpuEnv } from './gpu-env.js';

export interface GpuConfig {
  name: string;
  opts: WebGpuOptions;
  /** the f16 path must be on (checked) */
  f16: boolean;
  /** conformance tolerances (relative to max(1, max |ref|)) */
  tol: number;
  matmulTol?: Partial<Record<DType, number>>;
  /** bound on max |log-softmax(webgpu) - log-softmax(reference)| for whole models */
  modelTol: number;
}

/** the formats Gemma checkpoints ship in, and the rest of the GGUF types we read */
export const CORE_DTYPES: DType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k', 'q6_k'];
export const MORE_DTYPES: DType[] = ['q4_1', 'q5_0', 'q5_1', 'q5_k', 'q8_k'];
const ALL = [...CORE_DTYPES, ...MORE_DTYPES];

const F32 = (name: string, subgroups: boolean): GpuConfig => ({ name, opts: { preferF16: false, subgroups }, f16: false, tol: 1e-5, modelTol: 1e-3 });
// f16 path: activations rounded to f16 in the matmul tiles (2^-11 relative) and an f16 KV cache
const F16: GpuConfig = {
  name: 'webgpu-f16', opts: { preferF16: true, subgroups: true }, f16: true,
  tol: 5e-4, matmulTol: Object.fromEntries(ALL.map((d) => [d, 4e-3])), modelTol: 2e-2,
};

/**
 * [main, alternative]: the alternative turns subgroups off (workgroup-memory reductions) and
 * binds uniform slots with dynamic offsets (the GPU default; CPU drivers default to static
 * offsets, so the main configurations cover those)
 */
export function gpuConfigs(env: GpuEnv): GpuConfig[] {
  const alt = (c: GpuConfig): GpuConfig => ({ ...c, opts: { ...c.opts, uniformOffsets: 'dynamic' } });
  if (env.icd === 'swiftshader') return [F32('webgpu-f32', true), alt(F32('webgpu-f32-wgmem', false))];
  if (env.icd === 'lavapipe') return [F16, alt({ ...F16, name: 'webgpu-f16-wgmem', opts: { ...F16.opts, subgroups: false } })];
  return env.hasF16 ? [F16, alt(F32('webgpu-f32-wgmem', false))] : [F32('webgpu-f32', true), alt(F32('webgpu-f32-wgmem', false))];
}
