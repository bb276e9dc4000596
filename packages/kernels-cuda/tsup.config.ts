import { defineConfig } from 'tsup';
import { libraryOptions } from '../../tools/tsup-library.mjs';

export default defineConfig(libraryOptions(['src/index.ts']));
