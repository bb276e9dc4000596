import { defineConfig } from 'tsup';
import { cliAppOptions } from '@dcformer/cli-utils/tsup';

// Shared with the other CLI apps: ESM for Node, src/cli.ts (the bin) and src/main.ts entries, no .d.ts.
export default defineConfig(cliAppOptions());
