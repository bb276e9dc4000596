/**
 * The tsup options every library package (packages/*) shares: ESM + .d.ts + source maps for ES2022,
 * tfjs and the other @dcformer packages left as imports. `export default defineConfig(libraryOptions(
 * ['src/index.ts', …], { …overrides }))` in a package's tsup.config.ts. Build-time only: not published.
 */
export function libraryOptions(entry, overrides = {}) {
  return {
    entry,
    format: ['esm'],
    // DCFORMER_JS_ONLY=1 (npm start): no .d.ts, the slow part of a build; turbo.json hashes it
    dts: process.env.DCFORMER_JS_ONLY !== '1',
    sourcemap: true,
    clean: true,
    target: 'es2022',
    external: [/^@tensorflow\//, /^@dcformer\//],
    ...overrides,
  };
}
