import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Browser-safe core; only src/node.ts touches node:fs / node:zlib.
  external: [/^@dcformer\//, /^node:/],
});
