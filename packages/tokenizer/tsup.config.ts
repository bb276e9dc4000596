import { defineConfig } from 'tsup';
import { libraryOptions } from '../../tools/tsup-library.mjs';

// Browser-safe core; only src/node.ts touches node:fs / node:zlib.
export default defineConfig(libraryOptions(['src/index.ts', 'src/node.ts'], { external: [/^@dcformer\//, /^node:/] }));
