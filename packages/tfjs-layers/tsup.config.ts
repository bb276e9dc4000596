import { defineConfig } from 'tsup';

// Unbundled: dist mirrors src, so only the entry (index.js, which calls tf.serialization.registerClass)
// is the module that package.json's "sideEffects" names, and bundlers can still drop unused helpers.
export default defineConfig({
  entry: ['src/**/*.ts', '!src/**/*.test.ts', '!src/testing/**'],
  bundle: false,
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@dcformer\//],
});
