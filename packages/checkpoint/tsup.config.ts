import { defineConfig } from 'tsup';
import { libraryOptions } from '../../tools/tsup-library.mjs';

// Browser-safe core (src/index.ts); only src/node.ts reaches node:fs.
export default defineConfig(libraryOptions(['src/index.ts', 'src/node.ts'], { external: [/^node:/] }));
