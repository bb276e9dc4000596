import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/tsup.ts'],
  format: ['esm'],
  dts: process.env.DCFORMER_JS_ONLY !== '1', // as tools/tsup-library.mjs: npm start builds JavaScript only
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  external: [/^@tensorflow\//, /^@dcformer\//, 'webgpu'],
});
