#!/usr/bin/env node
// Checks the package rules of DESIGN.md on every workspace package.json, so they are enforced, not
// remembered: the dependency arrows (kernels ← compose ← model ← apps), tfjs-core as a peer (and no
// tfjs at all in the tfjs-free packages: checkpoint, tokenizer, eval),
// `exports` with `types` first, `sideEffects` declared. Prints every violation; exits 1 if any.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ALLOWED = {
  '@dcformer/kernels': [],
  '@dcformer/compose': ['@dcformer/kernels'],
  '@dcformer/kernels-cpu': ['@dcformer/kernels'],
  '@dcformer/kernels-webgpu': ['@dcformer/kernels'],
  '@dcformer/kernels-cuda': ['@dcformer/kernels'],
  '@dcformer/model': ['@dcformer/kernels', '@dcformer/compose', '@dcformer/checkpoint'],
  '@dcformer/tfjs-layers': ['@dcformer/kernels', '@dcformer/compose'],
  // No tfjs (no peer check below): file formats and the bounded file/JSON readers, typed arrays in and out.
  '@dcformer/checkpoint': [],
  // The tokenizer reads files through @dcformer/checkpoint's bounded readers (tfjs-free, so it stays tfjs-free).
  '@dcformer/tokenizer': ['@dcformer/checkpoint'],
  '@dcformer/train': ['@dcformer/kernels', '@dcformer/model'],
  // eval quotes bad JSON-lines values the way the other JSON readers do (describeValue; tfjs-free).
  '@dcformer/eval': ['@dcformer/checkpoint'],
  // Private plumbing of the CLI apps (flags, backend start-up, error lines): apps depend on it,
  // no library does (none lists it), and it depends on no app.
  '@dcformer/cli-utils': [
    '@dcformer/kernels',
    '@dcformer/kernels-cpu',
    '@dcformer/kernels-cuda',
    '@dcformer/kernels-webgpu',
  ],
};

/** Every .ts file under `dir` (tests included: a tfjs-free package's tests must not need tfjs either). */
function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'node_modules' || n === 'dist' ? [] : sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const problems = [];
const names = new Set();
for (const group of ['packages', 'apps']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const file = join(dir, name, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    names.add(pkg.name);
    const where = `${group}/${name}/package.json (${pkg.name})`;
    const internal = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }).filter((d) =>
      d.startsWith('@dcformer/'),
    );
    if (group === 'packages') {
      const allowed = ALLOWED[pkg.name];
      if (allowed === undefined)
        problems.push(`${where}: not in the dependency diagram of tools/check-packages.mjs; add it there`);
      else
        for (const d of internal)
          if (!allowed.includes(d))
            problems.push(`${where}: may not depend on ${d} (allowed: ${allowed.join(', ') || 'none'})`);
      if (Object.keys(pkg.peerDependencies ?? {}).filter((d) => d.startsWith('@dcformer/')).length > 0)
        problems.push(`${where}: internal packages must be dependencies, not peers`);
      const touchesTfjs = pkg.peerDependencies?.['@tensorflow/tfjs-core'] !== undefined;
      if (pkg.dependencies?.['@tensorflow/tfjs-core'])
        problems.push(`${where}: @tensorflow/tfjs-core must be a peerDependency (one kernel registry per process)`);
      const TFJS_FREE = ['@dcformer/tokenizer', '@dcformer/eval', '@dcformer/checkpoint'];
      if (TFJS_FREE.includes(pkg.name) && (touchesTfjs || pkg.dependencies?.['@tensorflow/tfjs-core']))
        problems.push(`${where}: must not depend on tfjs (typed arrays in and out)`);
      for (const d of TFJS_FREE.includes(pkg.name) ? internal : [])
        if (!TFJS_FREE.includes(d)) problems.push(`${where}: may depend only on tfjs-free packages; ${d} is not one`);
      // The package.json can be right while a source file still imports tfjs (through a hoisted copy).
      if (TFJS_FREE.includes(pkg.name))
        for (const file of [...sourceFiles(join(dir, name, 'src')), ...sourceFiles(join(dir, name, 'test'))]) {
          const text = readFileSync(file, 'utf8');
          for (const m of text.matchAll(/from '(@tensorflow\/[^']+|@dcformer\/[^/']+)/g))
            if (m[1].startsWith('@tensorflow/') || !TFJS_FREE.includes(m[1]))
              problems.push(`${file.slice(root.length)}: a tfjs-free package may not import ${m[1]}`);
        }
      if (!touchesTfjs && !TFJS_FREE.includes(pkg.name))
        problems.push(`${where}: expected @tensorflow/tfjs-core as a peerDependency`);
      if (pkg.sideEffects === undefined) problems.push(`${where}: declare "sideEffects"`);
      if (pkg.type !== 'module') problems.push(`${where}: "type" must be "module"`);
      for (const [sub, entry] of Object.entries(pkg.exports ?? {})) {
        if (typeof entry !== 'object') continue;
        if (Object.keys(entry)[0] !== 'types') problems.push(`${where}: exports["${sub}"] must list "types" first`);
      }
      if (!pkg.exports) problems.push(`${where}: missing "exports"`);
    } else if (!pkg.private) {
      problems.push(`${where}: apps are private`);
    }
  }
}
// A changeset whose front matter a formatter reflowed (a blank line after `---`, a heading) is not
// read as one; `changeset version` would then drop the release note silently.
const changesets = join(root, '.changeset');
for (const name of existsSync(changesets) ? readdirSync(changesets) : []) {
  if (!name.endsWith('.md') || name === 'README.md') continue;
  const lines = readFileSync(join(changesets, name), 'utf8').split('\n');
  const end = lines.indexOf('---', 1);
  const bumps = lines.slice(1, end);
  const bad = bumps.find((l) => {
    const m = /^(['"])(@dcformer\/[\w-]+)\1: (major|minor|patch)$/.exec(l);
    return m === null || !names.has(m[2]);
  });
  if (lines[0] !== '---' || end < 2 || bad !== undefined)
    problems.push(
      `.changeset/${name}: front matter must be '---', lines "'@dcformer/<package>': major|minor|patch", '---'${bad === undefined ? '' : ` (got ${JSON.stringify(bad)})`}`,
    );
}
if (problems.length > 0) {
  console.error(`check-packages: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('check-packages: dependency arrows, peers, exports, sideEffects and changeset front matter OK');
