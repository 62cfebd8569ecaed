/**
 * One normalised description of every Gemma variant. Configs are data: a new
 * variant is a new entry in PRESETS (or a config.json / GGUF header), never new code.
 */
import { GemmaError } from '../errors.js';

export type GemmaFamily = 1 | 2 | 3;
export type LayerType = 'sliding' | 'full';

export interface GemmaConfig {
  /** 1 = Gemma / 1.1, 2 = Gemma 2, 3 = Gemma 3 (text) */
  family: GemmaFamily;
  vocabSize: number;
  hiddenSize: number;          // d_model
  intermediateSize: number;    // FFN width
  numLayers: number;
  numHeads: number;            // query heads
  numKvHeads: number;          // 1 = MQA, < numHeads = GQA
  headDim: number;
  rmsNormEps: number;
  /** maximum context the model was trained for */
  maxPositions: number;
  /** RoPE base for global (full-attention) layers */
  ropeTheta: number;
  /** RoPE base for sliding-window layers (Gemma 3: 10 000; otherwise = ropeTheta) */
  ropeLocalTheta: number;
  /** linear RoPE scaling factor for global layers (Gemma 3 4B+: 8); 1 = none */
  ropeScaling: number;
  /** queries are multiplied by queryPreAttnScalar ** -0.5 (Gemma 1: headDim) */
  queryPreAttnScalar: number;
  /** Gemma 2: tanh soft-capping of attention scores and final logits; null = off */
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  /** window W of sliding layers: query i sees keys j with i-W < j <= i */
  slidingWindow: number | null;
  layerTypes: LayerType[];
  /** Gemma 3: RMSNorm on q and k (per head) before RoPE */
  qkNorm: boolean;
  /** Gemma 2/3: extra norms after attention and after the FFN ("sandwich") */
  sandwichNorms: boolean;
  bosId: number;
  eosId: number;
  padId: number;
}

export function layerTypesFromPattern(numLayers: number, pattern: number): LayerType[] {
  // Gemma 2: pattern 2 (even layers sliding); Gemma 3: pattern 6 (every 6th layer global)
  return Array.from({ length: numLayers }, (_, i) => ((i + 1) % pattern === 0 ? 'full' : 'sliding'));
}

type PresetInput = Omit<GemmaConfig, 'layerTypes' | 'ropeLocalTheta' | 'queryPreAttnScalar' | 'bosId' | 'eosId' | 'padId'> & {
  swaPattern?: number; ropeLocalTheta?: number; queryPreAttnScalar?: number;
};

function preset(p: PresetInput): GemmaConfig {
  const { swaPattern, ...rest } = p;
  return {
    ...rest,
    ropeLocalTheta: p.ropeLocalTheta ?? p.ropeTheta,
    queryPreAttnScalar: p.queryPreAttnScalar ?? p.headDim,
    layerTypes: swaPattern ? layerTypesFromPattern(p.numLayers, swaPattern) : Array(p.numLayers).fill('full'),
    bosId: 2, eosId: 1, padId: 0,
  };
}

const G1 = { family: 1 as const, rmsNormEps: 1e-6, maxPositions: 8192, ropeTheta: 10000, ropeScaling: 1, attnSoftcap: null, finalSoftcap: null, slidingWindow: null, qkNorm: false, sandwichNorms: false };
const G2 = { family: 2 as const, rmsNormEps: 1e-6, maxPositions: 8192, ropeTheta: 10000, ropeScaling: 1, attnSoftcap: 50, finalSoftcap: 30, qkNorm: false, sandwichNorms: true, swaPattern: 2 };
const G3 = { family: 3 as const, rmsNormEps: 1e-6, ropeTheta: 1_000_000, ropeLocalTheta: 10_000, attnSoftcap: null, finalSoftcap: null, qkNorm: true, sandwichNorms: true, swaPattern: 6 };

/**
 * Real architectures (from the published config.json files) and tiny variants that keep
 * every feature of their family with small dimensions. Tiny windows are 16 so that a
 * 40-token test crosses them.
 */
export const PRESETS: Record<string, GemmaConfig> = {
  'gemma-2b': preset({ ...G1, vocabSize: 256000, hiddenSize: 2048, intermediateSize: 16384, numLayers: 18, numHeads: 8, numKvHeads: 1, headDim: 256 }),
  'gemma-7b': preset({ ...G1, vocabSize: 256000, hiddenSize: 3072, intermediateSize: 24576, numLayers: 28, numHeads: 16, numKvHeads: 16, headDim: 256 }),
  'gemma-2-2b': preset({ ...G2, vocabSize: 256000, hiddenSize: 2304, intermediateSize: 9216, numLayers: 26, numHeads: 8, numKvHeads: 4, headDim: 256, slidingWindow: 4096 }),
  'gemma-2-9b': preset({ ...G2, vocabSize: 256000, hiddenSize: 3584, intermediateSize: 14336, numLayers: 42, numHeads: 16, numKvHeads: 8, headDim: 256, slidingWindow: 4096 }),
  'gemma-3-270m': preset({ ...G3, vocabSize: 262144, hiddenSize: 640, intermediateSize: 2048, numLayers: 18, numHeads: 4, numKvHeads: 1, headDim: 256, slidingWindow: 512, maxPositions: 32768, ropeScaling: 1 }),
  'gemma-3-1b': preset({ ...G3, vocabSize: 262144, hiddenSize: 1152, intermediateSize: 6912, numLayers: 26, numHeads: 4, numKvHeads: 1, headDim: 256, slidingWindow: 512, maxPositions: 32768, ropeScaling: 1 }),
  'gemma-3-4b': preset({ ...G3, vocabSize: 262208, hiddenSize: 2560, intermediateSize: 10240, numLayers: 34, numHeads: 8, numKvHeads: 4, headDim: 256, slidingWindow: 1024, maxPositions: 131072, ropeScaling: 8 }),
  // tiny variants: same features, small dims (vocab 512 with a synthetic tokenizer)
  'tiny-gemma': preset({ ...G1, vocabSize: 512, hiddenSize: 64, intermediateSize: 160, numLayers: 2, numHeads: 4, numKvHeads: 1, headDim: 16, maxPositions: 256 }),
  'tiny-gemma-2': preset({ ...G2, vocabSize: 512, hiddenSize: 64, intermediateSize: 160, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 16, slidingWindow: 16, maxPositions: 256 }),
  'tiny-gemma-3': preset({ ...G3, vocabSize: 512, hiddenSize: 64, intermediateSize: 160, numLayers: 6, numHeads: 4, numKvHeads: 2, headDim: 16, slidingWindow: 16, maxPositions: 256, ropeScaling: 8 }),
  // a bigger tiny model for benchmarks and the demo fallback
  'demo': preset({ ...G3, vocabSize: 512, hiddenSize: 128, intermediateSize: 384, numLayers: 6, numHeads: 4, numKvHeads: 1, headDim: 32, slidingWindow: 32, maxPositions: 512, ropeScaling: 1 }),
};

// tiny-gemma-2 keeps Gemma 2's soft-capping values (50, 30); make the window bite at 40 tokens

export function getPreset(name: string): GemmaConfig {
  const p = PRESETS[name];
  if (!p) throw new GemmaError('BAD_ARGUMENT', `unknown preset ${JSON.stringify(name)}; known: ${Object.keys(PRESETS).join(', ')}`);
  return structuredClone(p);
}

// ---------------------------------------------------------------- HF config.json

type Json = Record<string, unknown>;

function num(j: Json, key: string, file: string, fallback?: number): number {
  const v = j[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new GemmaError('BAD_CONFIG', `config.json lacks ${key}`, { file, field: key });
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new GemmaError('BAD_CONFIG', `${key} should be a number`, { file, field: key });
  return v;
}

function posInt(j: Json, key: string, file: string, fallback?: number, max = 1 << 24): number {
  const v = num(j, key, file, fallback);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new GemmaError('BAD_CONFIG', `${key} = ${v} is not a sensible positive integer`, { file, field: key });
  return v;
}

function optNum(j: Json, key: string, file: string): number | null {
  const v = j[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new GemmaError('BAD_CONFIG', `${key} should be a number or null`, { file, field: key });
  return v;
}

/** Parse a Hugging Face config.json (gemma, gemma2, gemma3_text, gemma3 with text_config). */
export function configFromHf(json: unknown, file = 'config.json'): GemmaConfig {
  if (typeof json !== 'object' || json === null) throw new GemmaError('BAD_CONFIG', 'config.json is not an object', { file });
  let j = json as Json;
  let type = j.model_type;
  if (type === 'gemma3' && typeof j.text_config === 'object' && j.text_config !== null) {
    // multimodal Gemma 3 wraps the language model's config
    j = { ...(j.text_config as Json) };
    type = 'gemma3_text';
  }
  const family: GemmaFamily | undefined = type === 'gemma' ? 1 : type === 'gemma2' ? 2 : type === 'gemma3_text' || type === 'gemma3' ? 3 : undefined;
  if (!family) throw new GemmaError('UNKNOWN_MODEL', `model_type ${JSON.stringify(type)} is not a Gemma text model (gemma, gemma2, gemma3_text)`, { file, field: 'model_type' });
  // Gemma 3's HF defaults (Gemma3TextConfig) for fields a config may omit
  const d3 = family === 3;
  const hiddenSize = posInt(j, 'hidden_size', file);
  const numHeads = posInt(j, 'num_attention_heads', file);
  const headDim = posInt(j, 'head_dim', file, Math.floor(hiddenSize / numHeads));
  const numLayers = posInt(j, 'num_hidden_layers', file, undefined, 1024);
  const act = j.hidden_activation ?? j.hidden_act;
  // Gemma 1 configs say hidden_act "gelu" but the model was trained with tanh-GELU (HF overrides it too).
  if (act !== undefined && typeof act === 'string' && !/gelu/.test(act)) {
    throw new GemmaError('BAD_CONFIG', `activation ${act} is not a GELU`, { file, field: 'hidden_activation' });
  }
  let layerTypes: LayerType[];
  const sliding = optNum(j, 'sliding_window', file);
  if (Array.isArray(j.layer_types)) {
    if (j.layer_types.length !== numLayers) throw new GemmaError('BAD_CONFIG', `layer_types has ${j.layer_types.length} entries for ${numLayers} layers`, { file, field: 'layer_types' });
    layerTypes = j.layer_types.map((t) => {
      if (t === 'sliding_attention') return 'sliding';
      if (t === 'full_attention') return 'full';
      throw new GemmaError('BAD_CONFIG', `unknown layer type ${JSON.stringify(t)}`, { file, field: 'layer_types' });
    });
  } else if (family === 1) {
    layerTypes = Array(numLayers).fill('full');
  } else {
    const pattern = family === 2 ? 2 : posInt(j, 'sliding_window_pattern', file, 6, 1024);
    layerTypes = layerTypesFromPattern(numLayers, pattern);
  }
  const needsWindow = layerTypes.includes('sliding');
  if (needsWindow && (sliding === null || sliding < 1)) throw new GemmaError('BAD_CONFIG', 'sliding layers need sliding_window', { file, field: 'sliding_window' });
  let ropeScaling = 1;
  const rs = j.rope_scaling as Json | null | undefined;
  if (rs && typeof rs === 'object') {
    const t = rs.rope_type ?? rs.type;
    if (t === 'linear') ropeScaling = num(rs, 'factor', file);
    else if (t !== 'default') throw new GemmaError('BAD_CONFIG', `rope_scaling type ${JSON.stringify(t)} is not supported (linear is)`, { file, field: 'rope_scaling' });
  }
  const ropeTheta = num(j, 'rope_theta', file, d3 ? 1_000_000 : 10_000);
  const cfg: GemmaConfig = {
    family,
    vocabSize: posInt(j, 'vocab_size', file, undefined, 1 << 22),
    hiddenSize,
    intermediateSize: posInt(j, 'intermediate_size', file),
    numLayers,
    numHeads,
    numKvHeads: posInt(j, 'num_key_value_heads', file, numHeads),
    headDim,
    rmsNormEps: num(j, 'rms_norm_eps', file, 1e-6),
    maxPositions: posInt(j, 'max_position_embeddings', file, 8192, 1 << 24),
    ropeTheta,
    ropeLocalTheta: family === 3 ? num(j, 'rope_local_base_freq', file, 10_000) : ropeTheta,
    ropeScaling,
    queryPreAttnScalar: family === 1 ? headDim : num(j, 'query_pre_attn_scalar', file, headDim),
    attnSoftcap: family === 2 ? optNum(j, 'attn_logit_softcapping', file) : optNum(j, 'attn_logit_softcapping', file),
    finalSoftcap: optNum(j, 'final_logit_softcapping', file),
    slidingWindow: needsWindow ? sliding : null,
    layerTypes,
    qkNorm: family === 3,
    sandwichNorms: family >= 2,
    bosId: num(j, 'bos_token_id', file, 2),
    eosId: Array.isArray(j.eos_token_id) ? Number(j.eos_token_id[0]) : num(j, 'eos_token_id', file, 1),
    padId: num(j, 'pad_token_id', file, 0),
  };
  validateConfig(cfg, file);
  return cfg;
}

/** config.json text for a config (used by the synthetic-model generator). */
export function configToHf(c: GemmaConfig): Json {
  const base: Json = {
    vocab_size: c.vocabSize, hidden_size: c.hiddenSize, intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads, num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim, rms_norm_eps: c.rmsNormEps, max_position_embeddings: c.maxPositions,
    rope_theta: c.ropeTheta, bos_token_id: c.bosId, eos_token_id: c.eosId, pad_token_id: c.padId,
    tie_word_embeddings: true, attention_bias: false, torch_dtype: 'float32',
  };
  if (c.family === 1) return { ...base, model_type: 'gemma', architectures: ['GemmaForCausalLM'], hidden_act: 'gelu', hidden_activation: 'gelu_pytorch_tanh' };
  const types = c.layerTypes.map((t) => (t === 'sliding' ? 'sliding_attention' : 'full_attention'));
  if (c.family === 2) {
    return { ...base, model_type: 'gemma2', architectures: ['Gemma2ForCausalLM'], hidden_activation: 'gelu_pytorch_tanh',
      query_pre_attn_scalar: c.queryPreAttnScalar, sliding_window: c.slidingWindow, attn_logit_softcapping: c.attnSoftcap,
      final_logit_softcapping: c.finalSoftcap, layer_types: types };
  }
  return { ...base, model_type: 'gemma3_text', architectures: ['Gemma3ForCausalLM'], hidden_activation: 'gelu_pytorch_tanh',
    query_pre_attn_scalar: c.queryPreAttnScalar, sliding_window: c.slidingWindow, rope_local_base_freq: c.ropeLocalTheta,
    rope_scaling: c.ropeScaling !== 1 ? { rope_type: 'linear', factor: c.ropeScaling } : null,
    attn_logit_softcapping: c.attnSoftcap, final_logit_softcapping: c.finalSoftcap, layer_types: types,
    sliding_window_pattern: 6 };
}

export function validateConfig(c: GemmaConfig, file?: string): void {
  const fail = (field: string, msg: string) => { throw new GemmaError('BAD_CONFIG', msg, { file, field }); };
  if (c.numHeads % c.numKvHeads !== 0) fail('num_key_value_heads', `${c.numHeads} query heads are not a multiple of ${c.numKvHeads} KV heads`);
  if (c.headDim % 2 !== 0) fail('head_dim', `head_dim ${c.headDim} must be even for RoPE`);
  if (c.layerTypes.length !== c.numLayers) fail('layer_types', 'layer types do not match the layer count');
  if (!(c.rmsNormEps > 0 && c.rmsNormEps < 1)) fail('rms_norm_eps', `rms_norm_eps ${c.rmsNormEps} out of range`);
  if (!(c.ropeTheta > 1) || !(c.ropeLocalTheta > 1)) fail('rope_theta', 'RoPE base must be > 1');
  if (!(c.ropeScaling > 0)) fail('rope_scaling', 'RoPE scaling factor must be > 0');
  if (!(c.queryPreAttnScalar > 0)) fail('query_pre_attn_scalar', 'query_pre_attn_scalar must be > 0');
  for (const [k, v] of [['attn_logit_softcapping', c.attnSoftcap], ['final_logit_softcapping', c.finalSoftcap]] as const) {
    if (v !== null && !(v > 0)) fail(k, `${k} must be positive or null`);
  }
  // -1: none
  for (const [k, v] of [['bos_token_id', c.bosId], ['eos_token_id', c.eosId], ['pad_token_id', c.padId]] as const) {
    if (!Number.isInteger(v) || v < -1 || v >= c.vocabSize) fail(k, `${k} = ${v} is not a token id below the vocabulary size ${c.vocabSize}`);
  }
}

/** GGUF architecture name for a family. */
export function ggufArch(family: GemmaFamily): 'gemma' | 'gemma2' | 'gemma3' {
  return family === 1 ? 'gemma' : family === 2 ? 'gemma2' : 'gemma3';
}
