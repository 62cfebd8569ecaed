/**
 * The weights of one Gemma model, named by role, and the mapping from the two
 * file conventions (Hugging Face safetensors names, llama.cpp GGUF names).
 *
 * Shapes follow PyTorch: a projection is [outFeatures, inFeatures].
 *   d = hiddenSize, f = intermediateSize, H = numHeads, G = numKvHeads, D = headDim
 */
import type { Weight } from '../kernels/backend.js';
import type { GemmaConfig } from './config.js';

export interface LayerWeights {
  attnNorm: Weight;       // [d]        RMSNorm before attention (input_layernorm)
  wq: Weight;             // [H*D, d]
  wk: Weight;             // [G*D, d]
  wv: Weight;             // [G*D, d]
  wo: Weight;             // [d, H*D]
  qNorm?: Weight;         // [D]        Gemma 3 QK-norm
  kNorm?: Weight;         // [D]
  postAttnNorm?: Weight;  // [d]        Gemma 2/3 sandwich norm after attention
  ffnNorm: Weight;        // [d]        RMSNorm before the FFN
  wGate: Weight;          // [f, d]
  wUp: Weight;            // [f, d]
  wDown: Weight;          // [d, f]
  postFfnNorm?: Weight;   // [d]        Gemma 2/3 sandwich norm after the FFN
}

export interface ModelWeights {
  embed: Weight;          // [vocab, d]  also the (tied) output head
  layers: LayerWeights[];
  finalNorm: Weight;      // [d]
}

export type LayerRole = keyof LayerWeights;
export type GlobalRole = 'embed' | 'finalNorm';

export interface TensorSpec {
  /** role in ModelWeights */
  role: GlobalRole | LayerRole;
  layer?: number;
  /** expected shape */
  shape: number[];
  /** RMSNorm multiplier: HF stores w (used as 1 + w), GGUF stores 1 + w */
  isNorm: boolean;
  hf: string;
  gguf: string;
}

/** Every tensor a config needs, with its names in both conventions and its expected shape. */
export function tensorSpecs(c: GemmaConfig): TensorSpec[] {
  const d = c.hiddenSize, f = c.intermediateSize, H = c.numHeads, G = c.numKvHeads, D = c.headDim;
  const specs: TensorSpec[] = [
    { role: 'embed', shape: [c.vocabSize, d], isNorm: false, hf: 'model.embed_tokens.weight', gguf: 'token_embd.weight' },
  ];
  for (let i = 0; i < c.numLayers; i++) {
    const hf = `model.layers.${i}.`, gg = `blk.${i}.`;
    const L = (role: LayerRole, shape: number[], hfName: string, ggName: string, isNorm = false) =>
      specs.push({ role, layer: i, shape, isNorm, hf: hf + hfName + '.weight', gguf: gg + ggName + '.weight' });
    L('attnNorm', [d], 'input_layernorm', 'attn_norm', true);
    L('wq', [H * D, d], 'self_attn.q_proj', 'attn_q');
    L('wk', [G * D, d], 'self_attn.k_proj', 'attn_k');
    L('wv', [G * D, d], 'self_attn.v_proj', 'attn_v');
    L('wo', [d, H * D], 'self_attn.o_proj', 'attn_output');
    if (c.qkNorm) {
      L('qNorm', [D], 'self_attn.q_norm', 'attn_q_norm', true);
      L('kNorm', [D], 'self_attn.k_norm', 'attn_k_norm', true);
    }
    if (c.sandwichNorms) {
      L('postAttnNorm', [d], 'post_attention_layernorm', 'post_attention_norm', true);
      L('ffnNorm', [d], 'pre_feedforward_layernorm', 'ffn_norm', true);
      L('postFfnNorm', [d], 'post_feedforward_layernorm', 'post_ffw_norm', true);
    } else {
      // Gemma 1 calls its pre-FFN norm "post_attention_layernorm"
      L('ffnNorm', [d], 'post_attention_layernorm', 'ffn_norm', true);
    }
    L('wGate', [f, d], 'mlp.gate_proj', 'ffn_gate');
    L('wUp', [f, d], 'mlp.up_proj', 'ffn_up');
    L('wDown', [d, f], 'mlp.down_proj', 'ffn_down');
  }
  specs.push({ role: 'finalNorm', shape: [d], isNorm: true, hf: 'model.norm.weight', gguf: 'output_norm.weight' });
  return specs;
}

/** Assemble ModelWeights from uploaded weights keyed by spec index. */
export function assembleWeights(c: GemmaConfig, specs: TensorSpec[], uploaded: Weight[]): ModelWeights {
  const layers: Partial<LayerWeights>[] = Array.from({ length: c.numLayers }, () => ({}));
  let embed: Weight | undefined, finalNorm: Weight | undefined;
  specs.forEach((s, i) => {
    const w = uploaded[i]!;
    if (s.role === 'embed') embed = w;
    else if (s.role === 'finalNorm') finalNorm = w;
    else (layers[s.layer!] as Record<string, Weight>)[s.role] = w;
  });
  return { embed: embed!, finalNorm: finalNorm!, layers: layers as LayerWeights[] };
}

export function allWeights(w: ModelWeights): Weight[] {
  const out: Weight[] = [w.embed, w.finalNorm];
  for (const l of w.layers) for (const v of Object.values(l)) if (v) out.push(v as Weight);
  return out;
}
