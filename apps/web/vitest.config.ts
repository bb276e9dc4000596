import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The end-to-end test drives headless Chromium on SwiftShader: minutes, not seconds, on 2 cores.
  test: { include: ['test/**/*.test.ts'], testTimeout: 240_000, hookTimeout: 240_000, pool: 'forks' },
});
