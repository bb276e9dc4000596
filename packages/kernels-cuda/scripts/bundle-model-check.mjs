#!/usr/bin/env node
// Bundles scripts/model-check.mjs with everything it imports (tfjs, @dcformer/model, @dcformer/train,
// this package's dist) into one file, bundle/model-check.mjs (git-ignored), so that the GPU machine
// needs only Node, not the workspace's node_modules (hundreds of MiB, past what a device run may
// carry). The native addon stays outside: the bundle loads ../build/dcformer_cuda.node as dist/ does,
// which gpu-check.sh builds there. Run after `npm run build`:
//
//   node packages/kernels-cuda/scripts/bundle-model-check.mjs
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  config: false,
  entry: { 'model-check': join(root, 'scripts', 'model-check.mjs') },
  outDir: join(root, 'bundle'),
  format: ['esm'],
  outExtension: () => ({ js: '.mjs' }),
  platform: 'node',
  target: 'node20',
  noExternal: [/.*/],
  splitting: false,
  dts: false,
  sourcemap: false,
  clean: true,
  silent: true,
  // bundled CommonJS (tfjs's dependencies) calls require(): give the ES module one
  banner: {
    js: "import { createRequire as __dcfRequire } from 'node:module'; const require = __dcfRequire(import.meta.url);",
  },
});
const file = join(root, 'bundle', 'model-check.mjs');
console.log(`bundled ${file} (${(statSync(file).size / 2 ** 20).toFixed(1)} MiB)`);
