/**
 * Every op of the WebGPU backend against the reference backend on random shapes (the shared
 * conformance harness), per driver configuration (configs.ts).
 */
import { describe, expect, it } from 'vitest';
import { describeBackendConformance } from '../helpers/backend-conformance.js';
import { gpuConfigs, GPU_DTYPES } from './configs.js';
import { backendFactory, gpuEnv } from './gpu-env.js';

const env = await gpuEnv();

describe.skipIf(!env.available)(`WebGPU on ${env.description || 'no adapter'}`, () => {
  for (const cfg of env.available ? gpuConfigs(env) : []) {
    const make = backendFactory(env, cfg.opts);
    it(`${cfg.name}: the configuration is what it says`, async () => {
      const be = await make();
      expect(be.info.f16).toBe(cfg.f16);
      expect(be.info.subgroups).toBe(cfg.opts.subgroups === true && env.hasSubgroups);
    });
    describeBackendConformance(cfg.name, make, { dtypes: GPU_DTYPES, tol: cfg.tol, matmulTol: cfg.matmulTol, small: true });
  }
});

it.skipIf(env.available)('WebGPU conformance skipped: no adapter (see the warning above)', () => {});
