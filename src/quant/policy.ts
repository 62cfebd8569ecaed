/**
 * Which block format each tensor gets.
 *
 * A policy is a named recipe plus optional per-tensor rules:
 *   - recipes are llama.cpp's file types (llama_ftype) and make the same per-tensor choices
 *     as `llama-quantize` (src/llama-quant.cpp), so `q4_k_m` here and `Q4_K_M` there give
 *     files with the same tensor types (and, with the bit-exact codecs, the same bytes);
 *   - rules (the quantization lab) pick a scheme by tensor-name pattern, first match wins,
 *     like `llama-quantize --tensor-type PATTERN=TYPE`; a scheme is any registered codec.
 *
 * Recipe logic for the tensors a Gemma model has (names in GGUF convention):
 *   only 2-D `*.weight` tensors are quantized; norms (`*_norm.weight`, 1-D) stay as they are.
 *   token_embd.weight doubles as the output head (tied), so it gets the output rule:
 *       Q8_0 if its rows are not whole blocks of the base type, else Q6_K unless the base is Q8_0
 *   attn_v.weight, layer i of n:   Q4_K_M / Q5_K_M: Q6_K when useMoreBits(i, n)
 *                                  Q4_K_S: Q5_K for i < 4
 *   ffn_down.weight, layer i of n: Q4_K_M / Q5_K_M: Q6_K when useMoreBits(i, n)
 *                                  Q4_K_S: Q5_K for i < n/8
 *   everything else: the base type.
 *   useMoreBits(i, n) = i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2    (integer division)
 *
 * Fallback (always applied last, also to rule and pure choices): a row of ne0 elements must
 * be whole blocks. If not, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 (256-element super-blocks
 * fall back to a 32-element type of about the same size), and if even that does not fit, F16.
 * A 32-block type that does not fit goes straight to F16. This is llama.cpp's
 * tensor_type_fallback; it is what makes K-quant recipes work on models whose hidden size is
 * not a multiple of 256 (our tiny test presets: 64).
 *
 * Deviations from llama-quantize, all on purpose: rules also apply to float recipes (f16 with
 * `ffn_=q4_k` is a valid lab policy); a --token-embedding-type choice also gets the fallback
 * (llama-quantize would write an invalid file); the layer index comes from the tensor name
 * (`blk.N.`) rather than a counter of tensors seen, which is the same unless a rule overrides
 * some attn_v / ffn_down tensors.
 */
import { GemmaError } from '../errors.js';
import { DTYPE_INFO, type DType } from '../tensor/dtype.js';
import { getCodec, hasCodec } from './index.js';

export interface Recipe {
  name: string;
  /** llama_ftype, written as general.file_type */
  ftype: number;
  /** the default type of weight matrices */
  base: DType;
  summary: string;
}

/** llama.cpp's file types that map to block formats we implement. */
export const RECIPES: Readonly<Record<string, Recipe>> = {
  f32: { name: 'f32', ftype: 0, base: 'f32', summary: 'all weights f32 (32 bpw)' },
  f16: { name: 'f16', ftype: 1, base: 'f16', summary: 'all weights f16 (16 bpw)' },
  bf16: { name: 'bf16', ftype: 32, base: 'bf16', summary: 'all weights bf16 (16 bpw)' },
  q8_0: { name: 'q8_0', ftype: 7, base: 'q8_0', summary: 'Q8_0 (8.5 bpw)' },
  q4_0: { name: 'q4_0', ftype: 2, base: 'q4_0', summary: 'Q4_0 (4.5 bpw), embeddings Q6_K' },
  q4_1: { name: 'q4_1', ftype: 3, base: 'q4_1', summary: 'Q4_1 (5 bpw), embeddings Q6_K' },
  q5_0: { name: 'q5_0', ftype: 8, base: 'q5_0', summary: 'Q5_0 (5.5 bpw), embeddings Q6_K' },
  q5_1: { name: 'q5_1', ftype: 9, base: 'q5_1', summary: 'Q5_1 (6 bpw), embeddings Q6_K' },
  q4_k_s: { name: 'q4_k_s', ftype: 14, base: 'q4_k', summary: 'Q4_K (4.5 bpw), first attn_v/ffn_down Q5_K, embeddings Q6_K' },
  q4_k_m: { name: 'q4_k_m', ftype: 15, base: 'q4_k', summary: 'Q4_K (4.5 bpw), half of attn_v/ffn_down Q6_K, embeddings Q6_K' },
  q5_k_s: { name: 'q5_k_s', ftype: 16, base: 'q5_k', summary: 'Q5_K (5.5 bpw), embeddings Q6_K' },
  q5_k_m: { name: 'q5_k_m', ftype: 17, base: 'q5_k', summary: 'Q5_K (5.5 bpw), half of attn_v/ffn_down Q6_K, embeddings Q6_K' },
  q6_k: { name: 'q6_k', ftype: 18, base: 'q6_k', summary: 'Q6_K (6.5625 bpw)' },
};

/** llama-quantize's aliases: a bare K type means its _M mix. */
export const RECIPE_ALIASES: Readonly<Record<string, string>> = { q4_k: 'q4_k_m', q5_k: 'q5_k_m' };

/** A per-tensor choice: tensors whose GGUF (or HF) name matches `pattern` get `scheme`. */
export interface TensorRule {
  /** a RegExp, or its source as a string (searched, not anchored: 'attn_v' matches blk.3.attn_v.weight) */
  pattern: string | RegExp;
  /** codec name: a GGUF type ('q8_0', ...) or a codec added with registerCodec */
  scheme: string;
}

export interface QuantPolicy {
  /** recipe name (see RECIPES; 'q4_k' and 'q5_k' are aliases of the _m mixes) */
  recipe: string;
  /** every weight matrix in the recipe's base type, no mixing (the fallback still applies) */
  pure?: boolean;
  /** first matching rule wins; a matching tensor skips the recipe's own mixing */
  rules?: TensorRule[];
  /** type of token_embd.weight (llama-quantize --token-embedding-type) */
  tokenEmbedding?: string;
}

/** A policy with its recipe looked up and its patterns compiled. */
export interface ResolvedPolicy {
  /** a short label, e.g. 'q4_k_m' or 'q8_0/pure+ffn_=q4_k' */
  label: string;
  recipe: Recipe;
  pure: boolean;
  rules: { pattern: RegExp; scheme: string }[];
  tokenEmbedding?: string;
}

/** What the policy needs to know about one tensor. */
export interface TensorTarget {
  /** GGUF name, e.g. blk.3.attn_v.weight */
  name: string;
  /** the Hugging Face name, also tried by rules */
  hfName?: string;
  /** row-major shape; the last entry is the row length (ggml's ne0) */
  shape: readonly number[];
  /** layers in the model (for the layer-dependent recipe rules) */
  numLayers: number;
}

export interface SchemeChoice {
  /** codec name to store the tensor in; null: keep the tensor as it is (not a weight matrix) */
  scheme: string | null;
  /** the scheme chosen before the block-size fallback, when the fallback changed it */
  fallbackFrom?: string;
  /** why: the recipe's mixing, a rule, the token-embedding override, or not quantized */
  reason: 'recipe' | 'rule' | 'token-embedding' | 'keep';
}

function lookupRecipe(name: string): Recipe {
  const key = String(name).toLowerCase();
  const r = RECIPES[RECIPE_ALIASES[key] ?? key];
  if (!r) throw new GemmaError('BAD_ARGUMENT', `unknown quantization recipe '${name}' (known: ${[...Object.keys(RECIPES), ...Object.keys(RECIPE_ALIASES)].join(', ')})`);
  return r;
}

function checkScheme(scheme: string, where: string): string {
  const s = String(scheme).toLowerCase();
  if (!hasCodec(s)) getCodec(s); // throws UNSUPPORTED_DTYPE listing the known codecs
  if (s === 'q8_k') throw new GemmaError('BAD_ARGUMENT', `${where}: q8_k is an activation format; llama.cpp cannot use it for weights`);
  return s;
}

function compilePattern(p: string | RegExp): RegExp {
  if (p instanceof RegExp) return new RegExp(p.source, p.flags.replace(/[gy]/g, ''));
  try {
    return new RegExp(p);
  } catch (cause) {
    throw new GemmaError('BAD_ARGUMENT', `tensor pattern ${JSON.stringify(p)} is not a valid regular expression`, { cause });
  }
}

/**
 * Resolve a recipe name, a compact policy string (see parsePolicySpec) or a policy object.
 * Throws BAD_ARGUMENT for an unknown recipe or a bad pattern, UNSUPPORTED_DTYPE for an
 * unknown scheme.
 */
export function resolvePolicy(p: QuantPolicy | ResolvedPolicy | string): ResolvedPolicy {
  if (typeof p === 'string') return resolvePolicy(parsePolicySpec(p));
  if ('label' in p && 'rules' in p && Array.isArray(p.rules) && (p as ResolvedPolicy).recipe?.ftype !== undefined) return p as ResolvedPolicy;
  const q = p as QuantPolicy;
  const recipe = lookupRecipe(q.recipe);
  const rules = (q.rules ?? []).map((r, i) => ({ pattern: compilePattern(r.pattern), scheme: checkScheme(r.scheme, `rule ${i}`) }));
  const tokenEmbedding = q.tokenEmbedding !== undefined ? checkScheme(q.tokenEmbedding, 'tokenEmbedding') : undefined;
  let label = recipe.name + (q.pure ? '/pure' : '');
  for (const r of rules) label += `+${r.pattern.source}=${r.scheme}`;
  if (tokenEmbedding) label += `+token_embd=${tokenEmbedding}`;
  return { label, recipe, pure: !!q.pure, rules, tokenEmbedding };
}

/**
 * The compact policy syntax of the CLI: RECIPE[/pure][+PATTERN=SCHEME]...
 *   'q4_k_m'                       llama.cpp's Q4_K_M
 *   'q4_k/pure'                    every matrix Q4_K
 *   'q8_0+ffn_=q4_k+token_embd=q6_k'
 * Patterns here cannot contain '+' or ',' (use a QuantPolicy object for those).
 */
export function parsePolicySpec(spec: string): QuantPolicy {
  const parts = spec.trim().split('+');
  const head = parts[0]!.trim();
  const [recipe, flag] = head.split('/');
  if (!recipe) throw new GemmaError('BAD_ARGUMENT', `empty quantization scheme in ${JSON.stringify(spec)}`);
  if (flag !== undefined && flag !== 'pure') throw new GemmaError('BAD_ARGUMENT', `unknown recipe flag '/${flag}' in ${JSON.stringify(spec)} (only /pure)`);
  const rules: TensorRule[] = [];
  for (const part of parts.slice(1)) {
    const eq = part.lastIndexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new GemmaError('BAD_ARGUMENT', `rule ${JSON.stringify(part)} in ${JSON.stringify(spec)} is not PATTERN=SCHEME`);
    rules.push({ pattern: part.slice(0, eq), scheme: part.slice(eq + 1) });
  }
  return { recipe, pure: flag === 'pure', rules };
}

/** useMoreBits(i, n): the layers the _M mixes give more bits (first and last eighth, every third between). */
export function useMoreBits(layer: number, numLayers: number): boolean {
  const e = Math.trunc(numLayers / 8);
  return layer < e || layer >= Math.trunc((7 * numLayers) / 8) || (layer - e) % 3 === 2;
}

/** 2-D `*.weight` tensors other than norms are quantized; everything else is kept. */
export function isQuantizable(name: string, shape: readonly number[]): boolean {
  return shape.length >= 2 && name.endsWith('weight') && !name.includes('_norm.weight');
}

function blockSizeOf(scheme: string): number {
  return getCodec(scheme).blockSize;
}

/** llama.cpp's tensor_type_fallback for a row of ne0 elements (see the module comment). */
export function fallbackScheme(scheme: string, ne0: number): string {
  if (ne0 % blockSizeOf(scheme) === 0) return scheme;
  const demoted: Record<string, DType> = { q4_k: 'q5_0', q5_k: 'q5_1', q6_k: 'q8_0' };
  const next = demoted[scheme] ?? scheme;
  return ne0 % blockSizeOf(next) === 0 ? next : 'f16';
}

function layerOf(name: string): number | undefined {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The recipe's own mixing (llama_tensor_get_type_impl for the ftypes we support). */
function recipeScheme(r: Recipe, t: TensorTarget): DType {
  const ne0 = t.shape[t.shape.length - 1]!;
  const base = r.base;
  const name = t.name;
  // Gemma ties the output head to the embedding, so the embedding gets the output rule
  if (name === 'token_embd.weight' || name === 'output.weight') {
    if (ne0 % DTYPE_INFO[base].blockSize !== 0) return 'q8_0';
    return base === 'q8_0' ? 'q8_0' : 'q6_k';
  }
  const i = layerOf(name);
  if (i === undefined) return base;
  const n = t.numLayers;
  if (name.includes('attn_v.weight')) {
    if ((r.name === 'q4_k_m' || r.name === 'q5_k_m') && useMoreBits(i, n)) return 'q6_k';
    if (r.name === 'q4_k_s' && i < 4) return 'q5_k';
  } else if (name.includes('ffn_down')) {
    if ((r.name === 'q4_k_m' || r.name === 'q5_k_m') && useMoreBits(i, n)) return 'q6_k';
    if (r.name === 'q4_k_s' && i < Math.trunc(n / 8)) return 'q5_k';
  }
  return base;
}

/** The scheme for one tensor under a policy. */
export function chooseScheme(policy: ResolvedPolicy, t: TensorTarget): SchemeChoice {
  if (!isQuantizable(t.name, t.shape)) return { scheme: null, reason: 'keep' };
  const ne0 = t.shape[t.shape.length - 1]!;
  const done = (scheme: string, reason: SchemeChoice['reason']): SchemeChoice => {
    const fb = fallbackScheme(scheme, ne0);
    return fb === scheme ? { scheme, reason } : { scheme: fb, fallbackFrom: scheme, reason };
  };
  if (policy.tokenEmbedding && t.name === 'token_embd.weight') return done(policy.tokenEmbedding, 'token-embedding');
  const rule = policy.rules.find((r) => r.pattern.test(t.name) || (t.hfName !== undefined && r.pattern.test(t.hfName)));
  if (rule) return done(rule.scheme, 'rule');
  const base = policy.recipe.base;
  if (policy.pure || DTYPE_INFO[base].blockSize === 1) return done(base, 'recipe');
  return done(recipeScheme(policy.recipe, t), 'recipe');
}
