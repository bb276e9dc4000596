import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset URLs: the built page works from any path (GitHub Pages, a sub-folder, file servers).
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  // tfjs-backend-wasm's .wasm files are imported with ?url and must not be pre-bundled.
  optimizeDeps: { exclude: ['@tensorflow/tfjs-backend-wasm'] },
});
