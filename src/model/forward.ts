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
 */
import { GemmaError } from '../errors.js';
import type { Backend, Tensor } from '../kernels/backend.js';
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
    for (let l = 0; l < cfg.numLayers; l++) {
      const L = w.layers[l]!;
      const sliding = cfg.layerTypes[l] === 'sliding';
      // ---- attention block
      B.rmsNorm(x, h, L.attnNorm, eps);
      B.matmul(q, x, L.wq);
      B.matmul(k, x, L.wk);
      B.matmul(v, x, L.wv);
      if (L.qNorm && L.kNorm) {
        B.rmsNorm(q, q, L.qNorm, eps); // per head: the weight has headDim entries
        B.rmsNorm(k, k, L.kNorm, eps);
      }
      const rope = sliding
        ? { headDim: D, startPos: start, theta: cfg.ropeLocalTheta, scaling: 1 }
        : { headDim: D, startPos: start, theta: cfg.ropeTheta, scaling: cfg.ropeScaling };
      B.rope(q, rope);
      B.rope(k, rope);
      B.kvStore(cache.layers[l]!, k, v, start);
      B.attention(att, q, cache.layers[l]!, {
        numHeads: H, numKvHeads: G, headDim: D, scale: qScale, softcap: cfg.attnSoftcap,
        window: sliding ? cfg.slidingWindow : null, startPos: start,
      });
      B.matmul(o, att, L.wo);
      if (L.postAttnNorm) B.rmsNorm(o, o, L.postAttnNorm, eps);
      B.add(h, h, o);
      // ---- feed-forward block (GeGLU)
      B.rmsNorm(x, h, L.ffnNorm, eps);
      B.matmul(gate, x, L.wGate);
      B.matmul(up, x, L.wUp);
      B.geglu(gate, gate, up);
      B.matmul(m, gate, L.wDown);
      if (L.postFfnNorm) B.rmsNorm(m, m, L.postFfnNorm, eps);
      B.add(h, h, m);
      if (opts.onLayer) await opts.onLayer(l, await B.download(h), n);
    }

    // ---- output head
    let last = h;
    if (!opts.allLogits && n > 1) { last = T(d, 1); B.copyRows(last, h, n - 1); }
    const hn = T(d, last.rows);
    B.rmsNorm(hn, last, w.finalNorm, eps);
    const logits = B.tensor(last.rows, cfg.vocabSize, true);
    B.matmul(logits, hn, w.embed);
    if (cfg.finalSoftcap !== null) B.softcap(logits, cfg.finalSoftcap);
    cache.length = start + n;
    return { logits };
  } finally {
    for (const t of live) B.freeTensor(t);
  }
}
