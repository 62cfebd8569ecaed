/** Every kernel variant the backend can build (the shader test compiles them all). */
import type { KernelSpec } from '../pipelines.js';
import type { GpuDType } from '../weight-layout.js';
import { ARGMAX_MERGE_SPEC, ARGMAX_PART_SPEC, ARGMAX_SPEC, TOPK_SPEC } from './argmax.js';
import { ATTENTION_COMBINE_SPEC, attentionSpec, KV_STORE_SPEC } from './attention.js';
import { binarySpec, SOFTCAP_SPEC } from './elementwise.js';
import { embedSpec } from './embed.js';
import { qkRopeStoreSpec, residualNormSpec } from './fused.js';
import { blockMatvecSpec, matmulSpec, multiMatvecSpec } from './matmul.js';
import { rmsNormSpec } from './norm.js';
import { ROPE_SPEC } from './rope.js';

export const GPU_DTYPES: readonly GpuDType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k', 'q8_k'];

/** `subgroups`: include the kernels that exist only for devices with subgroups */
export function allKernelSpecs(subgroups = true): KernelSpec[] {
  const out: KernelSpec[] = [];
  for (const d of GPU_DTYPES) out.push(matmulSpec(d, false), matmulSpec(d, true), embedSpec(d), rmsNormSpec(d, true), rmsNormSpec(d, false), rmsNormSpec(d, true, 256), rmsNormSpec(d, false, 256));
  if (subgroups) {
    for (const d of ['q8_0', 'q4_0', 'q4_k', 'q6_k', 'f32', 'f16', 'bf16'] as const) for (const cross of [false, true]) out.push(blockMatvecSpec(d, cross), multiMatvecSpec(d, false, cross), multiMatvecSpec(d, true, cross));
  }
  for (const op of ['OP_ADD', 'OP_GEGLU'] as const) {
    for (const [a, b] of [[false, false], [true, false], [false, true], [true, true]] as const) out.push(binarySpec(op, a, b));
  }
  out.push(residualNormSpec(false, 64), residualNormSpec(true, 64), residualNormSpec(false, 256), residualNormSpec(true, 256), qkRopeStoreSpec(false), qkRopeStoreSpec(true));
  for (const wg of [64, 128, 256]) for (const split of [false, true]) out.push(attentionSpec(wg, split));
  out.push(ROPE_SPEC, KV_STORE_SPEC, ATTENTION_COMBINE_SPEC, SOFTCAP_SPEC, ARGMAX_SPEC, ARGMAX_PART_SPEC, ARGMAX_MERGE_SPEC, TOPK_SPEC);
  return out;
}
