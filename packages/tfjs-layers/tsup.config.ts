import { defineConfig } from 'tsup';
import { libraryOptions } from '../../tools/tsup-library.mjs';

// Unbundled: dist mirrors src, so only the entry (index.js, which calls tf.serialization.registerClass)
// is the module that package.json's "sideEffects" names, and bundlers can still drop unused helpers.
export default defineConfig(
  libraryOptions(['src/**/*.ts', '!src/**/*.test.ts', '!src/testing/**'], {
    bundle: false,
    dts: process.env.DCFORMER_JS_ONLY === '1' ? false : { entry: 'src/index.ts' },
  }),
);
