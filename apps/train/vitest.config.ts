import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The tfjs cpu backend is slow (~1 GFLOP/s) and each test file pays tfjs's import once.
  test: { testTimeout: 120_000, hookTimeout: 120_000, pool: 'forks' },
});
