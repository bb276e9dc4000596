import { defineConfig } from 'tsup';

export default defineConfig({
  // main.ts is an entry too so that tests and scripts can call `main(argv, io)` in-process.
  entry: ['src/cli.ts', 'src/main.ts'],
  format: ['esm'],
  // An app: nothing imports its types, so no .d.ts.
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  // src/cli.ts starts with `#!/usr/bin/env node`; esbuild keeps an entry's hashbang and tsup marks it executable.
  external: [/^@tensorflow\//, /^@dcformer\//],
});
