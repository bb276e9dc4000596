import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/register.ts', 'src/node.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // register.js must stay a separate file that imports the shared chunk (sideEffects lists it)
  splitting: true,
  external: [/^@tensorflow\//, /^@dcformer\//, 'webgpu'],
});
