/**
 * Whole models on WebGPU against the reference backend: all families (tiny-gemma,
 * tiny-gemma-2 with soft-caps and sliding windows, tiny-gemma-3 with QK-norm, local/global
 * RoPE and scaling), chunked prefill (tiled matmul) and single-token decode (matvec),
 * F32 weights (model.test.ts) and weights re-quantized to mixes of Q8_0, Q5_0, Q4_0, Q4_1,
 * Q5_1, Q4_K, Q5_K, Q6_K (model-quant.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import type { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import { DISPATCHES_PER_SUBMIT } from '../../src/kernels/webgpu/recorder.js';
import { gpuConfigs } from './configs.js';
import { backendFactory, type Driver, gpuEnv } from './gpu-env.js';
import { loadModel, maxLogSoftmaxDiff, type ModelSpec, presetSpec, tinyK, tokens } from './models.js';

/** the suite, on float weights or (QUANT) on re-quantized weights */
export async function describeModelParity(driver: Driver, QUANT: boolean): Promise<void> {
  const env = await gpuEnv(driver);
  const cfg = env.available ? gpuConfigs(env)[0]! : undefined;

  describe.skipIf(!env.available)(`whole models${QUANT ? ', quantized' : ''} on WebGPU (${cfg?.name}, ${env.description})`, () => {
    const make = backendFactory(env, cfg?.opts ?? {});
    const ref = new ReferenceBackend();
    const measured: string[] = [];
    afterAll(() => { if (measured.length) console.log(`[webgpu ${cfg!.name} on ${env.icd}] max |d log-softmax| vs reference:\n  ${measured.join('\n  ')}`); });

    const specs: ModelSpec[] = QUANT
      ? [
        presetSpec('tiny-gemma-3', (role) => (['wGate', 'wUp', 'wDown'].includes(role) ? 'q5_0' : 'q8_0')),
        presetSpec('tiny-gemma-2', (role) => (role === 'wDown' ? 'q5_1' : ['wGate', 'wUp'].includes(role) ? 'q4_1' : 'q4_0')),
        { name: 'tiny-k', cfg: tinyK(), quant: (role) => (role === 'wv' || role === 'wDown' ? 'q6_k' : ['wGate', 'wUp'].includes(role) ? 'q5_k' : 'q4_k') },
      ]
      : [presetSpec('tiny-gemma'), presetSpec('tiny-gemma-2'), presetSpec('tiny-gemma-3')];

    for (const spec of specs) {
      const label = `${spec.name}${spec.quant ? ` (${typeof spec.quant === 'string' ? spec.quant : [...new Set(['wq', 'wv', 'wGate', 'wDown', 'embed'].map(spec.quant))].join('+')})` : ''}`;
      it(`${label}: prefill (40 tokens in chunks of 16) and 6 decode steps match the reference`, async () => {
        const be = await make();
        const V = spec.cfg.vocabSize;
        const [mg, mr] = [await loadModel(spec, be), await loadModel(spec, ref)];
        try {
          const toks = tokens(40, V);
          const [a, b] = [await mg.logits(toks, { allLogits: true }), await mr.logits(toks, { allLogits: true })];
          const dPrefill = maxLogSoftmaxDiff(a, b, V);
          // decode: one token at a time after a 20-token prompt (matvec and single-query attention)
          const [cg, cr] = [mg.newCache(), mr.newCache()];
          await mg.eval(toks.slice(0, 20), cg);
          await mr.eval(toks.slice(0, 20), cr);
          let dDecode = 0;
          for (let s = 20; s < 26; s++) {
            const [x, y] = [await mg.eval([toks[s]!], cg), await mr.eval([toks[s]!], cr)];
            dDecode = Math.max(dDecode, maxLogSoftmaxDiff(x, y, V));
          }
          cg.dispose(); cr.dispose();
          measured.push(`${label}: prefill ${dPrefill.toExponential(2)}, decode ${dDecode.toExponential(2)}`);
          expect(dPrefill).toBeLessThan(cfg!.modelTol);
          expect(dDecode).toBeLessThan(cfg!.modelTol);
        } finally {
          for (const m of [mg, mr]) for (const w of Object.values(m.weights.layers).flatMap((l) => Object.values(l))) m.backend.freeWeight(w);
        }
      });
    }

    it.skipIf(QUANT)('greedy decoding: no waiting inside a step (a submit per 48 dispatches, or one per step), same tokens as the reference', async () => {
      const be = (await make()) as WebGpuBackend;
      const spec = presetSpec('tiny-gemma-3');
      const V = spec.cfg.vocabSize;
      const [mg, mr] = [await loadModel(spec, be), await loadModel(spec, ref)];
      const [cg, cr] = [mg.newCache(), mr.newCache()];
      const prompt = tokens(12, V);
      await mg.eval(prompt.slice(0, -1), cg);
      let logits = await mr.eval(prompt.slice(0, -1), cr);
      let tok = prompt[prompt.length - 1]!;
      let compared = 0;
      const dispatches = () => Object.values(be.dispatchCounts()).reduce((a, b) => a + b, 0);
      for (let s = 0; s < 10; s++) {
        // steps 0-4: the default, a submit every DISPATCHES_PER_SUBMIT dispatches plus the one
        // that reads the token back; steps 5-9: one submit for the whole step
        if (s === 5) be.setDispatchesPerSubmit(Infinity);
        const [before, d0] = [be.submits, dispatches()];
        const got = await mg.nextGreedy([tok], cg);
        const per = s < 5 ? DISPATCHES_PER_SUBMIT : Infinity;
        expect(be.submits - before, 'queue submits in one decode step').toBe(Math.floor((dispatches() - d0) / per) + 1);
        if (s < 5) expect(be.submits - before).toBeGreaterThan(1); // the tiny model has more than 48 dispatches a step
        logits = await mr.eval([tok], cr);
        // the reference's choice, and how far ahead of the runner-up it is
        let best = 0, second = -Infinity;
        for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
        for (let i = 0; i < V; i++) if (i !== best) second = Math.max(second, logits[i]!);
        if (logits[best]! - second > 2 * cfg!.modelTol) { expect(got, `step ${s}`).toBe(best); compared++; }
        tok = best; // both continue with the reference's token
      }
      expect(compared).toBeGreaterThan(5);
      cg.dispose(); cr.dispose();
    });
  });

  it.skipIf(env.available)('WebGPU model parity skipped: no adapter (see the warning above)', () => {});
}
