// Builds the host addon once, before the test files run in parallel workers (each would otherwise
// start the same compile into the same folder). A missing compiler is left to the files, which skip
// with the reason (or fail under CI); a failed compile fails the run here with the compiler's words.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { hostCompilerMissing, packageRoot } from './host-build.js';

export default function setup(): void {
  if (hostCompilerMissing() !== null) return;
  const r = spawnSync(process.execPath, [join(packageRoot, 'scripts', 'build-native.mjs'), '--host'], {
    encoding: 'utf8',
  });
  if (r.status !== 0 || /not built/.test(r.stdout)) throw new Error(`the host build failed: ${r.stdout}${r.stderr}`);
}
