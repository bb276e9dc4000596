// What the stand-alone checks of the native sources (gemm-native, qgemm-native) share: the
// compilers and emulators they look for, why a check cannot run here, and a builder that compiles
// a set of native sources with their per-file flags and links them with a check program.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { gemmFlags } from '../scripts/native-flags.mjs';
import { skipUnlessCI } from '../../../tools/test-env.mjs';

export const native = fileURLToPath(new URL('../native/', import.meta.url));
export const has = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
export const cxx = process.env.CXX ?? 'g++';
export const crossCxx = 'aarch64-linux-gnu-g++';

/** Skip (or, in CI, fail) the x86-64 dispatch checks under qemu-user's older CPU models. */
export function skipQemuX64(): boolean {
  const missing =
    process.arch !== 'x64' ? null : !has('qemu-x86_64') ? 'no qemu-x86_64 (apt-get install qemu-user)' : null;
  return process.arch !== 'x64' || skipUnlessCI('the dispatch check under qemu-user', missing);
}

/** Skip (or, in CI, fail) the arm64 build run under qemu-user; an arm64 host ran NEON natively. */
export function skipNeonUnderQemu(): boolean {
  const missing = !has(crossCxx)
    ? `no ${crossCxx} (apt-get install g++-aarch64-linux-gnu)`
    : !has('qemu-aarch64')
      ? 'no qemu-aarch64 (apt-get install qemu-user)'
      : null;
  return process.arch === 'arm64' || skipUnlessCI('the NEON check under qemu-user', missing);
}

/**
 * A scratch folder (removed after the file's tests) and `build(compiler, arch, out, extra)`: each of
 * `sources` compiled with its flags for `arch`, linked with native/test/`check` into `out`.
 */
export function checkBuilder(prefix: string, sources: readonly string[], check: string) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const common = ['-O2', '-fopenmp', '-std=c++17'];
  const build = (compiler: string, arch: string, out: string, extra: string[] = []): void => {
    const objects = sources.map((f) => {
      const obj = join(work, `${arch}-${f}.o`);
      const args = [...common, ...(gemmFlags(f, arch) ?? []), '-c', join(native, f), '-o', obj];
      const r = spawnSync(compiler, args, { encoding: 'utf8' });
      expect(r.status, `${compiler} ${f}: ${r.stderr}`).toBe(0);
      return obj;
    });
    const r = spawnSync(compiler, [...common, join(native, 'test', check), ...objects, '-o', out, ...extra], {
      encoding: 'utf8',
    });
    expect(r.status, `${compiler} link: ${r.stderr}`).toBe(0);
  };
  return { work, build };
}
