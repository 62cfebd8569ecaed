/** The shared backend conformance harness, run on one WebGPU configuration of this driver. */
import { describe, expect, it } from 'vitest';
import { describeBackendConformance } from '../helpers/backend-conformance.js';
import type { DType } from '../../src/tensor/dtype.js';
import { CORE_DTYPES, gpuConfigs } from './configs.js';
import { backendFactory, type Driver, gpuEnv } from './gpu-env.js';

export async function describeGpuConformance(driver: Driver, which: 'main' | 'alt', dtypes: DType[] = CORE_DTYPES): Promise<void> {
  const env = await gpuEnv(driver);
  const cfg = env.available ? gpuConfigs(env)[which === 'main' ? 0 : 1] : undefined;
  describe.skipIf(!cfg)(`WebGPU ${cfg?.name} on ${env.description} (${dtypes.join(', ')})`, () => {
    if (!cfg) return;
    const make = backendFactory(env, cfg.opts);
    it('the configuration is what it says', async () => {
      const be = await make();
      expect(be.info.f16).toBe(cfg.f16);
      expect(be.info.subgroups).toBe(cfg.opts.subgroups === true && env.hasSubgroups);
    });
    describeBackendConformance(cfg.name, make, { dtypes, tol: cfg.tol, matmulTol: cfg.matmulTol, small: true });
  });
  it.skipIf(!!cfg)(`WebGPU conformance (${which}) skipped: ${env.available ? 'no such configuration on this adapter' : 'no adapter (see the warning above)'}`, () => {});
}
