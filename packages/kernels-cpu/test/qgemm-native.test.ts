// The compact matmul's C++ sources checked without Node (native/test/qgemm-check.cc): every path this
// CPU runs, every format, decode and prefill shapes, against a double sum over weights decoded from
// the documented layout; the same binary under qemu-user's Haswell (AVX2 + F16C, no AVX-512) for the
// run time dispatch; and the arm64 build under qemu-user (the NEON path). Under CI a missing tool fails.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnlessCI } from '../../../tools/test-env.mjs';
import { checkBuilder, crossCxx, cxx, has, skipNeonUnderQemu, skipQemuX64 } from './native-check.js';

const sources = [
  'qgemm-avx512vnni.cc',
  'qgemm-avx512.cc',
  'qgemm-avx2vnni.cc',
  'qgemm-avx2int.cc',
  'qgemm-avx2.cc',
  'qgemm-neon.cc',
  'qgemm-portable.cc',
  'qgemm-driver.cc',
];
const { work, build } = checkBuilder('dcf-qgemm-check-', sources, 'qgemm-check.cc');

function paths(r: ReturnType<typeof spawnSync>): string[] {
  const out = String(r.stdout);
  expect(r.status, out + String(r.stderr)).toBe(0);
  expect(out).not.toMatch(/[1-9]\d* mismatches/);
  return [...out.matchAll(/^(\w+): \d+ cases, 0 mismatches/gm)].map((m) => m[1]);
}

const exe = join(work, 'qgemm-check');
describe.skipIf(skipUnlessCI('the stand-alone compact matmul check', has(cxx) ? null : `no C++ compiler '${cxx}'`))(
  `qgemm-check on this ${process.arch} CPU`,
  () => {
    it('builds', () => build(cxx, process.arch, exe), 120_000);
    for (const threads of [1, 3]) {
      it(`every path and format at ${threads} thread(s)`, () => {
        const got = paths(spawnSync(exe, ['--threads', String(threads)], { encoding: 'utf8', timeout: 120_000 }));
        expect(got).toContain('portable');
        if (process.arch === 'x64') expect(got).toEqual(expect.arrayContaining(['avx2int', 'avx2']));
      });
    }
  },
);

describe.skipIf(skipQemuX64())('run time dispatch on an AVX2-only x86-64 CPU (qemu-user)', () => {
  it('-cpu Haswell: avx2int, avx2 and portable only', () => {
    if (!existsSync(exe)) build(cxx, 'x64', exe);
    const r = spawnSync('qemu-x86_64', ['-cpu', 'Haswell', exe], { encoding: 'utf8', timeout: 240_000 });
    expect(paths(r)).toEqual(['avx2int', 'avx2', 'portable']);
  }, 270_000);
});

describe.skipIf(skipNeonUnderQemu())('qgemm-check built for arm64, run under qemu-user (the NEON path)', () => {
  it('neon and portable', () => {
    const arm = join(work, 'qgemm-check-arm64');
    build(crossCxx, 'arm64', arm, ['-static']);
    expect(paths(spawnSync('qemu-aarch64', [arm], { encoding: 'utf8', timeout: 300_000 }))).toEqual([
      'neon',
      'portable',
    ]);
  }, 400_000);
});
