/**
 * Independent reference: llama.cpp (through node-llama-cpp 3.21.1, CPU build shipped in the
 * npm package). Returns llama.cpp's next-token log-probabilities at every position.
 */
import { getLlama, type Llama } from 'node-llama-cpp';

let llamaP: Promise<Llama> | undefined;
export function llama(): Promise<Llama> {
  llamaP ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' as never, progressLogs: false, skipDownload: true } as never);
  return llamaP;
}

/**
 * log p(next token) for each position of `tokens`: [positions][vocab] as Float64Arrays.
 * Tokens whose probability underflows to 0 in llama.cpp's output are -Infinity.
 */
export async function llamaLogProbs(modelPath: string, tokens: number[], vocabSize: number, threads = 2): Promise<Float64Array[]> {
  const l = await llama();
  const model = await l.loadModel({ modelPath, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: Math.max(64, tokens.length + 8), threads, batchSize: Math.max(64, tokens.length), flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' } as never);
  try {
    const seq = ctx.getSequence();
    const input = tokens.map((t) => [t, { generateNext: { probabilities: true } }] as [number, { generateNext: { probabilities: boolean } }]);
    const res = await seq.controlledEvaluate(input as never);
    return res.map((r, i) => {
      const probs = r?.next?.probabilities;
      if (!probs) throw new Error(`llama.cpp returned no probabilities at position ${i}`);
      const out = new Float64Array(vocabSize).fill(-Infinity);
      for (const [tok, p] of probs) out[tok as number] = Math.log(p);
      return out;
    });
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}
