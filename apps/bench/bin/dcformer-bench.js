#!/usr/bin/env node
// The `dcformer-bench` bin as npm links it. Committed, unlike dist/, so that node_modules/.bin/dcformer-bench
// exists from the install on (npx never falls through to the npm registry); the CLI itself is
// dist/cli.js, which `npm run build` makes.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`dcformer-bench: ${cli.pathname} is missing; run npm run build in the repository root\n`);
  process.exitCode = 1;
} else {
  await import(cli.href);
}
