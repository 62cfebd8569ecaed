/**
 * Every kernel variant the backend can build compiles without WGSL errors or warnings on this
 * driver, in each of its configurations. Shader modules only (Tint: parse, validate,
 * uniformity): fast. Pipeline creation (layout compatibility, driver compilation) is exercised
 * by the conformance and model suites.
 */
import { describe, expect, it } from 'vitest';
import { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import { allKernelSpecs } from '../../src/kernels/webgpu/ops/specs.js';
import { gpuConfigs } from './configs.js';
import { type Driver, gpuEnv } from './gpu-env.js';

export async function describeKernelCompilation(driver: Driver): Promise<void> {
  const env = await gpuEnv(driver);
  describe.skipIf(!env.available)(`every kernel variant compiles on ${env.description}`, () => {
    // each configuration, and its KV cache of the other element type (KV32 / KVP shader variants)
    for (const [cfg, kvCache] of (env.available ? gpuConfigs(env) : []).flatMap((c) => [[c, undefined], [c, c.f16 ? 'f32' : 'f16']] as const)) {
      it(`${cfg.name}${kvCache ? `, ${kvCache} KV cache` : ''}: no WGSL errors or warnings in any kernel variant`, async () => {
        const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg.opts, ...(kvCache ? { kvCache } : {}) });
        try {
          const problems: string[] = [];
          for (const spec of allKernelSpecs(be.info.subgroups)) {
            const module = be.device.createShaderModule({ code: be.kernelSource(spec) });
            const info = await module.getCompilationInfo();
            for (const m of info.messages) problems.push(`${spec.shader} ${JSON.stringify(spec.defines)}: ${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
          }
          expect(problems).toEqual([]);
          // and nothing failed asynchronously
          await be.download(be.tensor(1, 1));
        } finally {
          be.dispose();
        }
      });
    }
  });
}
