/**
 * Which Gemma variants and precisions fit a memory budget. Architectures come from the
 * published config.json files (the text model only: Gemma 3 4B+ also ship a ~0.4B vision
 * tower that this engine does not load). IT (instruction-tuned) variants are listed first,
 * smallest first; within a variant, the most precise format that fits comes first.
 */
import { getPreset, type GemmaConfig, layerTypesFromPattern } from '../model/config.js';
import type { DType } from '../tensor/dtype.js';
import { estimateMemory, type MemoryEstimate } from './memory.js';

export interface Variant { id: string; hf: string; it: boolean; config: GemmaConfig }

function g3(base: GemmaConfig, o: Partial<GemmaConfig>): GemmaConfig {
  const c = { ...base, ...o };
  c.layerTypes = layerTypesFromPattern(c.numLayers, 6);
  return c;
}

function catalogConfigs(): { id: string; hf: (it: boolean) => string; config: GemmaConfig }[] {
  const g34 = getPreset('gemma-3-4b');
  const g29 = getPreset('gemma-2-9b');
  const g2_27: GemmaConfig = { ...g29, hiddenSize: 4608, intermediateSize: 36864, numLayers: 46, numHeads: 32, numKvHeads: 16, headDim: 128, queryPreAttnScalar: 144, layerTypes: layerTypesFromPattern(46, 2) };
  return [
    { id: 'gemma-3-270m', hf: (it) => `google/gemma-3-270m${it ? '-it' : ''}`, config: getPreset('gemma-3-270m') },
    { id: 'gemma-3-1b', hf: (it) => `google/gemma-3-1b-${it ? 'it' : 'pt'}`, config: getPreset('gemma-3-1b') },
    { id: 'gemma-2b', hf: (it) => (it ? 'google/gemma-1.1-2b-it' : 'google/gemma-2b'), config: getPreset('gemma-2b') },
    { id: 'gemma-2-2b', hf: (it) => `google/gemma-2-2b${it ? '-it' : ''}`, config: getPreset('gemma-2-2b') },
    { id: 'gemma-3-4b', hf: (it) => `google/gemma-3-4b-${it ? 'it' : 'pt'}`, config: g34 },
    { id: 'gemma-7b', hf: (it) => (it ? 'google/gemma-1.1-7b-it' : 'google/gemma-7b'), config: getPreset('gemma-7b') },
    { id: 'gemma-2-9b', hf: (it) => `google/gemma-2-9b${it ? '-it' : ''}`, config: g29 },
    { id: 'gemma-3-12b', hf: (it) => `google/gemma-3-12b-${it ? 'it' : 'pt'}`, config: g3(g34, { hiddenSize: 3840, intermediateSize: 15360, numLayers: 48, numHeads: 16, numKvHeads: 8, headDim: 256, queryPreAttnScalar: 256 }) },
    { id: 'gemma-2-27b', hf: (it) => `google/gemma-2-27b${it ? '-it' : ''}`, config: g2_27 },
    { id: 'gemma-3-27b', hf: (it) => `google/gemma-3-27b-${it ? 'it' : 'pt'}`, config: g3(g34, { hiddenSize: 5376, intermediateSize: 21504, numLayers: 62, numHeads: 32, numKvHeads: 16, headDim: 128, queryPreAttnScalar: 168 }) },
  ];
}

/** Every catalogued variant, IT first, then by parameter count. */
export function gemmaVariants(): Variant[] {
  const base = catalogConfigs().map((v) => ({ ...v, params: estimateMemory(v.config).parameters }));
  base.sort((a, b) => a.params - b.params);
  return [true, false].flatMap((it) => base.map((v) => ({ id: `${v.id}-${it ? 'it' : 'pt'}`, hf: v.hf(it), it, config: v.config })));
}

/** Storage precisions offered, most precise first. */
export const PRECISIONS: DType[] = ['bf16', 'q8_0', 'q6_k', 'q5_k', 'q4_k', 'q4_0'];

export interface Recommendation {
  variant: string;
  hf: string;
  it: boolean;
  precision: DType;
  parameters: number;
  estimate: MemoryEstimate;
  /** backends it fits: 'webgpu' (within the GPU budget), 'wasm' (within memory and wasm32's 4 GiB) */
  fits: ('webgpu' | 'wasm')[];
}

export interface RecommendOptions {
  /** system memory budget in bytes */
  memory: number;
  /** GPU memory budget in bytes (default: = memory, as for integrated / unified-memory GPUs) */
  gpuMemory?: number;
  /** context length to plan the KV cache for (default 8192, clipped to each model) */
  contextLength?: number;
  /** list every precision that fits, not just the most precise one per variant and backend */
  all?: boolean;
}

/** wasm32 linear memory: the WASM backend holds weights + cache in at most 4 GiB */
export const WASM32_LIMIT = 2 ** 32;

export function recommend(o: RecommendOptions): Recommendation[] {
  const out: Recommendation[] = [];
  const gpu = o.gpuMemory ?? o.memory;
  for (const v of gemmaVariants()) {
    const covered = new Set<string>();
    for (const precision of PRECISIONS) {
      const est = estimateMemory(v.config, { dtype: precision, contextLength: o.contextLength ?? 8192 });
      const fits: Recommendation['fits'] = [];
      if (est.total <= gpu) fits.push('webgpu');
      if (est.total <= Math.min(o.memory, WASM32_LIMIT)) fits.push('wasm');
      // without `all`: the most precise format per backend (bf16 on WebGPU, q8_0 for WASM, ...)
      if (fits.length === 0 || (!o.all && fits.every((f) => covered.has(f)))) continue;
      for (const f of fits) covered.add(f);
      out.push({ variant: v.id, hf: v.hf, it: v.it, precision, parameters: est.parameters, estimate: est, fits });
    }
  }
  return out;
}
