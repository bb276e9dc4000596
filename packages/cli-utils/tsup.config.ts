import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/tsup.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  external: [/^@tensorflow\//, /^@dcformer\//, 'webgpu'],
});
