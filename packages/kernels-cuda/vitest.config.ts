import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['./test/global-setup.ts'],
    // The host build's OpenMP threads wait passively: test files run side by side on few cores, and
    // spinning threads of one process starve the others (the oracle file: 18.6 s spinning, 2.5 s not,
    // at load average 7 on 2 cores).
    env: { OMP_WAIT_POLICY: 'passive' },
  },
});
