/**
 * The Gemma forward pass: one function for Gemma 1, 2 and 3, driven by the config.
 * Read it top to bottom like the papers:
 *
 *   h = embed(tokens) * sqrt(d)
 *   for each layer:
 *     x = RMSNorm(h)                                   (1 + w multiplier)
 *     q, k, v = x Wq, x Wk, x Wv
 *     q, k = RMSNorm_head(q), RMSNorm_head(k)          Gemma 3 QK-norm
 *     q, k = RoPE(q), RoPE(k)                          local/global base (Gemma 3), linear scaling on global layers
 *     cache <- k, v
 *     a = softmax(cap(q k^T * qpas^-1/2) + mask) v     GQA/MQA; causal or sliding window; Gemma 2 soft-cap
 *     o = a Wo;  o = RMSNorm(o)                        sandwich norm (Gemma 2/3)
 *     h = h + o
 *     x = RMSNorm(h)
 *     m = (gelu_tanh(x Wgate) * x Wup) Wdown;  m = RMSNorm(m)   (sandwich, Gemma 2/3)
 *     h = h + m
 *   logits = RMSNorm(h) E^T                            tied head; Gemma 2 final soft-cap
 *
 * Steps run fused on backends that offer it (Backend.matmulQkv, matmulGeglu, qkRopeStore,
 * residualNorm; see attentionInputs and residual below): the three projections, the gate/up
 * projections with GeGLU, the norm/RoPE/store of q and k, and each residual add with the norm
 * around it. So the input norm of a layer is computed at the end of the layer
 * before (by the first one, before the loop), and the final norm at the end of the last layer.
 */
import { GemmaError } from '../errors.js';
import {
  type Backend, type KvLayer, matmulGegluPlain, matmulQkvPlain, qkRopeStorePlain, type RopeParams, residualNormPlain, type Tensor, type Weight,
} from '../kernels/backend.js';
import type { GemmaConfig } from './config.js';
import type { KvCache } from './kv-cache.js';
import type { ModelWeights } from './weights.js';

export interface ForwardOptions {
  /** return logits for every position (default: only the last) */
  allLogits?: boolean;
  /** parity hook: receives the residual stream after each layer (downloaded; slows things down) */
  onLayer?: (layer: number, hidden: Float32Array, rows: number) => void | Promise<void>;
}

export interface ForwardResult {
  /** logits tensor on the backend: [rows or 1, vocab]; the caller frees it */
  logits: Tensor;
}

/**
 * Run `tokens` at positions cache.length.. through the model, append their K/V to the
 * cache, and return the logits tensor (left on the backend; download or argmax it).
 */
export async function forward(
  backend: Backend, cfg: GemmaConfig, w: ModelWeights, cache: KvCache, tokens: Int32Array, opts: ForwardOptions = {},
): Promise<ForwardResult> {
  const n = tokens.length;
  const start = cache.length;
  if (n === 0) throw new GemmaError('BAD_ARGUMENT', 'forward needs at least one token');
  if (start + n > cache.contextLength) {
    throw new GemmaError('CONTEXT_OVERFLOW', `positions ${start}..${start + n - 1} exceed the context length ${cache.contextLength}`);
  }
  const d = cfg.hiddenSize, H = cfg.numHeads, G = cfg.numKvHeads, D = cfg.headDim, f = cfg.intermediateSize;
  const eps = cfg.rmsNormEps;
  const B = backend;
  const live: Tensor[] = [];
  // every op below writes its whole output before anything reads it: no need to zero them
  const T = (cols: number, rows = n) => { const t = B.tensor(rows, cols, true); live.push(t); return t; };

  // Embedding, scaled by sqrt(d) rounded to the compute dtype (f32 here)
  const h = T(d);
  B.embed(h, w.embed, tokens, Math.fround(Math.sqrt(d)));

  const x = T(d), q = T(H * D), k = T(G * D), v = T(G * D), att = T(H * D), o = T(d);
  const gate = T(f), up = T(f), m = T(d);
  const qScale = 1 / Math.sqrt(cfg.queryPreAttnScalar);

  try {
    B.rmsNorm(x, h, w.layers[0]!.attnNorm, eps); // x = RMSNorm(h), the first layer's input
    for (let l = 0; l < cfg.numLayers; l++) {
      const L = w.layers[l]!;
      const sliding = cfg.layerTypes[l] === 'sliding';
      // ---- attention block (x = RMSNorm(h) already)
      if (B.matmulQkv) B.matmulQkv(q, k, v, x, L.wq, L.wk, L.wv);
      else matmulQkvPlain(B, q, k, v, x, L.wq, L.wk, L.wv);
      const rope = sliding
        ? { headDim: D, startPos: start, theta: cfg.ropeLocalTheta, scaling: 1 }
        : { headDim: D, startPos: start, theta: cfg.ropeTheta, scaling: cfg.ropeScaling };
      attentionInputs(B, q, k, v, cache.layers[l]!, L.qNorm, L.kNorm, eps, rope);
      B.attention(att, q, cache.layers[l]!, {
        numHeads: H, numKvHeads: G, headDim: D, scale: qScale, softcap: cfg.attnSoftcap,
        window: sliding ? cfg.slidingWindow : null, startPos: start,
      });
      B.matmul(o, att, L.wo);
      residual(B, h, o, L.postAttnNorm, x, L.ffnNorm, eps); // h += RMSNorm(o); x = RMSNorm(h)
      // ---- feed-forward block (GeGLU)
      // gate = gelu(x Wgate) * x Wup
      if (B.matmulGeglu) B.matmulGeglu(gate, x, L.wGate, L.wUp, up);
      else matmulGegluPlain(B, gate, x, L.wGate, L.wUp, up);
      B.matmul(m, gate, L.wDown);
      // h += RMSNorm(m); x = RMSNorm(h) with the next layer's input norm, or the final norm
      const next = l + 1 < cfg.numLayers ? w.layers[l + 1]!.attnNorm : w.finalNorm;
      residual(B, h, m, L.postFfnNorm, x, next, eps);
      if (opts.onLayer) await opts.onLayer(l, await B.download(h), n);
    }

    // ---- output head (x = RMSNorm(h) with the final norm already)
    let hn = x;
    if (!opts.allLogits && n > 1) { hn = T(d, 1); B.copyRows(hn, x, n - 1); }
    const logits = B.tensor(hn.rows, cfg.vocabSize, true);
    B.matmul(logits, hn, w.embed);
    if (cfg.finalSoftcap !== null) B.softcap(logits, cfg.finalSoftcap);
    cache.length = start + n;
    return { logits };
  } finally {
    for (const t of live) B.freeTensor(t);
  }
}

/**
 * q, k = RMSNorm_head(q), RMSNorm_head(k) (when the layer has QK-norm); q, k = RoPE(q), RoPE(k);
 * cache <- k, v. Fused when the backend offers it.
 */
function attentionInputs(
  B: Backend, q: Tensor, k: Tensor, v: Tensor, layer: KvLayer, qNorm: Weight | undefined, kNorm: Weight | undefined,
  eps: number, rope: RopeParams,
): void {
  const [qn, kn] = qNorm && kNorm ? [qNorm, kNorm] : [null, null];
  if (B.qkRopeStore) B.qkRopeStore(q, k, v, layer, qn, kn, eps, rope);
  else qkRopeStorePlain(B, q, k, v, layer, qn, kn, eps, rope);
}

/** h = h + (post ? RMSNorm(o) : o) (sandwich norm of Gemma 2/3); x = RMSNorm(h) with `next`. */
function residual(B: Backend, h: Tensor, o: Tensor, post: Weight | undefined, x: Tensor, next: Weight, eps: number): void {
  if (B.residualNorm) B.residualNorm(h, o, post ?? null, x, next, eps);
  else residualNormPlain(B, h, o, post ?? null, x, next, eps);
}
