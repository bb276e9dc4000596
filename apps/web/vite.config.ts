import { defineConfig, type Plugin } from 'vite';

/**
 * The dev server serves tfjs-backend-wasm as it is published (it is kept out of dependency
 * pre-bundling, see below), and its ESM entry imports three files of wasm-out/ that are not ESM:
 * the threaded worker's source (`module.exports.wasmWorkerContents = …`) and two UMD Emscripten
 * factories. A browser cannot import those ("does not provide an export named
 * 'wasmWorkerContents'"), so they are given the ESM exports the entry expects. `vite build` does not
 * need this: Rollup's CommonJS plugin converts them.
 */
function tfjsWasmOutAsEsm(): Plugin {
  return {
    name: 'dcformer:tfjs-wasm-out-esm',
    apply: 'serve',
    transform(code, id) {
      const file = id.split('?')[0];
      if (!/[\\/]@tensorflow[\\/]tfjs-backend-wasm[\\/]wasm-out[\\/][^\\/]+\.js$/.test(file)) return null;
      if (file.endsWith('.worker.js'))
        return {
          code: code.replace(/^module\.exports\.wasmWorkerContents\s*=/m, 'export const wasmWorkerContents ='),
          map: null,
        };
      const factory = /^var (\w+) = \(\(\) =>/m.exec(code)?.[1];
      return factory === undefined ? null : { code: `${code}\nexport default ${factory};\n`, map: null };
    },
  };
}

export default defineConfig({
  // Relative asset URLs: the built page works from any path (GitHub Pages, a sub-folder, file servers).
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  // tfjs-backend-wasm's .wasm files are imported with ?url and must not be pre-bundled.
  optimizeDeps: { exclude: ['@tensorflow/tfjs-backend-wasm'] },
  plugins: [tfjsWasmOutAsEsm()],
});
