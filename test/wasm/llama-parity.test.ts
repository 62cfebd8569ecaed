// The whole model on the wasm backend (2 threads) against llama.cpp (node-llama-cpp 3.21.1,
// CPU, F32 KV cache) on the same GGUF file: the quantized-parity bars, top-1 >= 95 % and
// mean KL(llama.cpp || ours) <= 1e-2 over 40 positions, for every storage type.
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DType } from '../../src/tensor/dtype.js';
import { llamaLogProbs } from '../helpers/llama-ref.js';
import { wasmBackend } from './helpers.js';
import { TOKENS, agreement, loadTestModel, logProbs, modelBytes, testConfig } from './models.js';

describe('wasm whole model vs llama.cpp (same GGUF)', () => {
  const dir = join(tmpdir(), `gemma-ts-wasm-${process.pid}`);
  const cases: [string, DType][] = [
    ['tiny-gemma-3', 'q8_0'], ['tiny-gemma-2', 'q4_0'], ['tiny-gemma', 'q4_1'], ['tiny-gemma-3', 'q5_0'], ['tiny-gemma-2', 'q5_1'],
    ['tiny-gemma-3-k256', 'q4_k'], ['tiny-gemma-2-k256', 'q5_k'], ['tiny-gemma-k256', 'q6_k'], ['tiny-gemma-3', 'f16'],
  ];
  for (const [name, dtype] of cases) {
    it(`${name} ${dtype}`, async () => {
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${name}-${dtype}.gguf`);
      await writeFile(path, await modelBytes(name, dtype));
      const m = await loadTestModel(name, dtype, await wasmBackend({ threads: 2 }));
      const ours = logProbs(await m.logits(TOKENS, { allLogits: true }), m.config.vocabSize);
      m.dispose();
      const ref = await llamaLogProbs(path, TOKENS, testConfig(name).vocabSize);
      const r = agreement(ours, ref);
      expect(r.top1, JSON.stringify(r)).toBeGreaterThanOrEqual(0.95);
      expect(r.meanKl, JSON.stringify(r)).toBeLessThanOrEqual(1e-2);
      console.log(`llama.cpp vs wasm ${name} ${dtype}: ${JSON.stringify(r)}`);
    });
  }
});
