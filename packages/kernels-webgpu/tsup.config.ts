import { defineConfig } from 'tsup';
import { libraryOptions } from '../../tools/tsup-library.mjs';

export default defineConfig(
  libraryOptions(['src/index.ts', 'src/register.ts', 'src/node.ts'], {
    // register.js must stay a separate file that imports the shared chunk (sideEffects lists it)
    splitting: true,
    external: [/^@tensorflow\//, /^@dcformer\//, 'webgpu'],
  }),
);
