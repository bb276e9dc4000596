/**
 * The tsup options of a CLI app (`apps/*`): `export default defineConfig(cliAppOptions())` in its
 * tsup.config.ts. Plain data, so this entry pulls in nothing at build time but itself.
 */
import type { Options } from 'tsup';

export function cliAppOptions(): Options {
  return {
    // main.ts is an entry too so that tests, scripts and other apps can call `main(argv, io)` in-process.
    entry: ['src/cli.ts', 'src/main.ts'],
    format: ['esm'],
    // An app: nothing imports its types, so no .d.ts.
    dts: false,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'node',
    // The `#!/usr/bin/env node` line lives at the top of src/cli.ts: esbuild keeps an entry's hashbang
    // and tsup marks such outputs executable, so only cli.js gets it (a banner would go on every file).
    external: [/^@tensorflow\//, /^@dcformer\//],
  };
}
