import { defineConfig } from 'vitest/config';

export default defineConfig({
  // SwiftShader runs shaders on the CPU: generous timeouts; one file at a time (2-core CI machines).
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
