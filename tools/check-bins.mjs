#!/usr/bin/env node
// Part of `npm test`, after the build: the CLIs answer from the repository root exactly as the README
// tells a user to call them (`npx --no-install <bin> --version`). Fails when a bin is not linked in
// node_modules/.bin (npx would otherwise ask the npm registry for a package of that name).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const BINS = [
  ['dcformer', 'apps/infer'],
  ['dcformer-train', 'apps/train'],
  ['dcformer-bench', 'apps/bench'],
];

const problems = [];
for (const [bin, dir] of BINS) {
  const { version } = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const r = spawnSync('npx', ['--no-install', bin, '--version'], { cwd: root, encoding: 'utf8' });
  const out = (r.stdout ?? '').trim();
  if (r.status !== 0 || out !== version) {
    const err = (r.stderr ?? '').trim().split('\n')[0] || r.error?.message || '';
    problems.push(
      `npx --no-install ${bin} --version: exit ${r.status}, stdout '${out}', expected '${version}'${err ? ` (${err})` : ''}`,
    );
  }
}
if (problems.length > 0) {
  console.error(`check-bins: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-bins: npx --no-install ${BINS.map(([b]) => b).join(', ')} --version OK`);
