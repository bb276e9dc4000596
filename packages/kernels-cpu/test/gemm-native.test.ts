// The GEMM's C++ sources checked without Node (native/test/gemm-check.cc): every path this CPU runs,
// bit for bit against one fmaf chain per element, at 1, 2 and 3 threads; and the arm64 build under
// qemu-user, which is how the NEON path runs on an x86 machine (Debian's g++-aarch64-linux-gnu and
// qemu-user, installed by .ci/run); and the x86-64 build under qemu-user's older CPU models (dispatch).
// Under CI a missing tool fails the file.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnlessCI } from '../../../tools/test-env.mjs';
import { checkBuilder, crossCxx, cxx, has, native, skipNeonUnderQemu, skipQemuX64 } from './native-check.js';

const gemmSources = ['gemm-avx512.cc', 'gemm-avx2.cc', 'gemm-neon.cc', 'gemm-portable.cc', 'gemm-driver.cc'];
const { work, build } = checkBuilder('dcf-gemm-check-', gemmSources, 'gemm-check.cc');

function expectClean(r: ReturnType<typeof spawnSync>, paths: string[]): void {
  const out = String(r.stdout);
  expect(r.status, out + String(r.stderr)).toBe(0);
  for (const p of paths) expect(out).toMatch(new RegExp(`^${p}: \\d+ cases, 0 mismatches`, 'm'));
}

describe.skipIf(skipUnlessCI('the stand-alone GEMM check', has(cxx) ? null : `no C++ compiler '${cxx}'`))(
  `gemm-check on this ${process.arch} CPU`,
  () => {
    const exe = join(work, 'gemm-check');
    it('builds', () => build(cxx, process.arch, exe), 120_000);
    for (const threads of [1, 2, 3]) {
      it(`every path bit for bit at ${threads} thread(s)`, () => {
        const r = spawnSync(exe, ['--threads', String(threads)], { encoding: 'utf8', timeout: 120_000 });
        expectClean(r, ['portable']);
        const paths = [...String(r.stdout).matchAll(/^(\w+): /gm)].map((m) => m[1]);
        console.log(`gemm-check ${threads} thread(s): ${paths.join(', ')}`);
        if (process.arch === 'x64') expect(paths).toContain('avx2');
      });
    }
  },
);

// The same x86-64 binary under qemu-user's emulated CPUs without AVX-512 (and without AVX): the run
// time dispatch must offer only what the CPU has, and those paths must still be exact.
describe.skipIf(skipQemuX64())('run time dispatch on older x86-64 CPUs (qemu-user)', () => {
  for (const [cpu, want] of [
    ['Haswell', ['avx2', 'portable']],
    ['Nehalem', ['portable']],
  ] as const) {
    it(`-cpu ${cpu}: paths ${want.join(', ')}`, () => {
      const exe = join(work, 'gemm-check-qemu');
      if (!existsSync(exe)) build(cxx, 'x64', exe);
      const r = spawnSync('qemu-x86_64', ['-cpu', cpu, exe, '--quick'], { encoding: 'utf8', timeout: 120_000 });
      expectClean(r, [...want]);
      expect([...String(r.stdout).matchAll(/^(\w+): /gm)].map((m) => m[1])).toEqual(want);
    }, 150_000);
  }
});

describe.skipIf(skipNeonUnderQemu())('gemm-check built for arm64, run under qemu-user (the NEON path)', () => {
  it('neon and portable bit for bit', () => {
    const exe = join(work, 'gemm-check-arm64');
    build(crossCxx, 'arm64', exe, ['-static']);
    expectClean(spawnSync('qemu-aarch64', [exe], { encoding: 'utf8', timeout: 300_000 }), ['neon', 'portable']);
  }, 400_000);
});

it('the sources it checks exist', () => {
  for (const f of [...gemmSources, 'test/gemm-check.cc']) expect(existsSync(join(native, f)), f).toBe(true);
});
