// Shared by the tests: build the host addon (a C++ compiler with OpenMP reads the .cu sources) once
// and load it. No compiler: skip with the reason, but fail under CI (the host build is what checks
// the CUDA sources' arithmetic there).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnlessCI } from '../../../tools/test-env.mjs';
import { loadAddon, type CudaAddon } from '../src/native.js';

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export function hostCompilerMissing(): string | null {
  const cxx = process.env.CXX ?? 'g++';
  return spawnSync(cxx, ['--version']).status === 0 ? null : `no C++ compiler '${cxx}' (apt-get install -y g++)`;
}

/** The host addon, built if needed; null (after printing why) when this machine cannot build it outside CI. */
export function hostAddon(label: string): CudaAddon | null {
  if (skipUnlessCI(label, hostCompilerMissing())) return null;
  const build = spawnSync(process.execPath, [join(packageRoot, 'scripts', 'build-native.mjs'), '--host'], {
    encoding: 'utf8',
  });
  if (build.status !== 0 || /not built/.test(build.stdout))
    throw new Error(`the host build failed: ${build.stdout}${build.stderr}`);
  const { addon, reason } = loadAddon('host');
  if (addon === null) throw new Error(reason);
  return addon;
}
