/** GemmaConfig from GGUF metadata (llama.cpp's keys for the gemma, gemma2, gemma3 architectures). */
import { GemmaError } from '../errors.js';
import { type GgufFile, metaNumber, metaString } from '../format/gguf.js';
import { type GemmaConfig, type GemmaFamily, layerTypesFromPattern, validateConfig } from './config.js';

/** A special token id; llama.cpp writes -1 ("none") as the uint32 0xFFFFFFFF. */
function tokenId(f: GgufFile, key: string, fallback: number): number {
  const v = metaNumber(f, key) ?? fallback;
  return v === 0xffffffff ? -1 : v;
}

export function configFromGguf(f: GgufFile): GemmaConfig {
  const file = f.source.name;
  const arch = metaString(f, 'general.architecture');
  const family: GemmaFamily | undefined = arch === 'gemma' ? 1 : arch === 'gemma2' ? 2 : arch === 'gemma3' ? 3 : undefined;
  if (!family) throw new GemmaError('UNKNOWN_MODEL', `general.architecture ${JSON.stringify(arch)} is not gemma, gemma2 or gemma3`, { file, field: 'general.architecture' });
  const key = (k: string) => `${arch}.${k}`;
  const req = (k: string, max = 1 << 24): number => {
    const v = metaNumber(f, key(k));
    if (v === undefined) throw new GemmaError('BAD_CONFIG', `missing metadata ${key(k)}`, { file, field: key(k) });
    if (!Number.isInteger(v) || v < 1 || v > max) throw new GemmaError('BAD_CONFIG', `${key(k)} = ${v} is not a sensible positive integer`, { file, field: key(k) });
    return v;
  };
  const opt = (k: string): number | undefined => metaNumber(f, key(k));
  const hiddenSize = req('embedding_length');
  const numLayers = req('block_count', 1024);
  const numHeads = req('attention.head_count');
  const headDim = opt('attention.key_length') ?? Math.floor(hiddenSize / numHeads);
  const emb = f.tensorByName.get('token_embd.weight');
  const tokens = f.metadata.get('tokenizer.ggml.tokens');
  const vocabSize = emb?.shape[0] ?? (Array.isArray(tokens) ? tokens.length : undefined);
  if (!vocabSize) throw new GemmaError('BAD_CONFIG', 'cannot tell the vocabulary size (no token_embd.weight, no tokenizer.ggml.tokens)', { file });
  const ropeTheta = opt('rope.freq_base') ?? (family === 3 ? 1_000_000 : 10_000);
  let ropeScaling = 1;
  const st = metaString(f, key('rope.scaling.type'));
  const factor = opt('rope.scaling.factor') ?? opt('rope.scale_linear');
  if (factor !== undefined && factor !== 0 && factor !== 1) {
    if (st !== undefined && st !== 'linear') throw new GemmaError('BAD_CONFIG', `rope scaling ${st} is not supported (linear is)`, { file, field: key('rope.scaling.type') });
    ropeScaling = factor;
  }
  const window = opt('attention.sliding_window');
  // llama.cpp: Gemma 2 alternates (pattern 2), Gemma 3 has one global layer in 6
  const layerTypes = family === 1 || !window ? Array(numLayers).fill('full') : layerTypesFromPattern(numLayers, family === 2 ? 2 : 6);
  // llama.cpp derives the query scale from the model size (27B uses d/H); GGUF has no key for it
  const is27b = (family === 2 && numLayers === 46) || (family === 3 && numLayers === 62);
  const softcap = (k: string) => { const v = opt(k); return v === undefined || v === 0 ? null : v; };
  const cfg: GemmaConfig = {
    family,
    vocabSize,
    hiddenSize,
    intermediateSize: req('feed_forward_length'),
    numLayers,
    numHeads,
    numKvHeads: opt('attention.head_count_kv') ?? numHeads,
    headDim,
    rmsNormEps: opt('attention.layer_norm_rms_epsilon') ?? 1e-6,
    maxPositions: req('context_length'),
    ropeTheta,
    ropeLocalTheta: family === 3 ? 10_000 : ropeTheta,
    ropeScaling,
    queryPreAttnScalar: is27b ? hiddenSize / numHeads : headDim,
    attnSoftcap: family === 2 ? softcap('attn_logit_softcapping') : null,
    finalSoftcap: family === 1 ? null : softcap('final_logit_softcapping'),
    slidingWindow: family === 1 || !window ? null : window,
    layerTypes,
    qkNorm: family === 3,
    sandwichNorms: family >= 2,
    bosId: tokenId(f, 'tokenizer.ggml.bos_token_id', 2),
    eosId: tokenId(f, 'tokenizer.ggml.eos_token_id', 1),
    padId: tokenId(f, 'tokenizer.ggml.padding_token_id', 0),
  };
  validateConfig(cfg, file);
  return cfg;
}
