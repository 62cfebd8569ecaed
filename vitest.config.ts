import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // 2-core machines: keep parallelism low so timing-sensitive native code is not starved
    maxWorkers: 2,
  },
});
