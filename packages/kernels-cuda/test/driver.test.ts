// The C++ driver that the GPU check runs (driver/, scripts/gpu-check.sh), here in its host variant:
// cases written by scripts/make-driver-cases.mjs from the CPU references, the kernels compiled as
// C++ by driver/build.sh, every case within tolerance. With nvcc the device variant must compile too
// (and, without a GPU, refuse to run with the CUDA error); without nvcc that part skips.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnlessCI } from '../../../tools/test-env.mjs';
import { hostCompilerMissing, packageRoot } from './host-build.js';

const build = join(packageRoot, 'build');
const cases = join(build, 'test-cases');
const noHost = skipUnlessCI('the host driver tests', hostCompilerMissing());
const nvcc = process.env.NVCC ?? 'nvcc';
const noNvcc = spawnSync(nvcc, ['--version']).status === 0 ? null : `no CUDA compiler '${nvcc}' on PATH`;
if (noNvcc) console.warn(`[the device driver build test] skipping: ${noNvcc}`);

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe.skipIf(noHost)('the kernel driver, host variant', () => {
  it('writes the cases from the CPU references', () => {
    const r = run(process.execPath, [join(packageRoot, 'scripts', 'make-driver-cases.mjs'), cases]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(join(cases, 'manifest.txt'), 'utf8').trim().split('\n')).toHaveLength(17);
  });

  it('builds and passes every case', () => {
    const b = run('bash', [join(packageRoot, 'driver', 'build.sh'), 'host', join(build, 'driver-host')]);
    expect(b.status, b.stdout + b.stderr).toBe(0);
    const r = run(join(build, 'driver-host', 'dcf-driver'), [cases, '--min-ms', '1'], { OMP_WAIT_POLICY: 'passive' });
    expect(r.stdout).toMatch(/17 of 17 cases within tolerance/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('fails a case whose expected output is wrong, naming where', () => {
    const bad = join(build, 'test-bad-cases');
    rmSync(bad, { recursive: true, force: true });
    mkdirSync(bad, { recursive: true });
    cpSync(join(cases, 'gelu'), join(bad, 'gelu'), { recursive: true });
    const line = readFileSync(join(cases, 'manifest.txt'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('gelu '))!;
    writeFileSync(join(bad, 'manifest.txt'), `${line}\n`);
    const y = readFileSync(join(bad, 'gelu', 'y.bin'));
    y.writeFloatLE(y.readFloatLE(4 * 7) + 0.01, 4 * 7);
    writeFileSync(join(bad, 'gelu', 'y.bin'), y);
    const r = run(join(build, 'driver-host', 'dcf-driver'), [bad, '--min-ms', '1']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/NO .*y\[7\]/);
    expect(r.stdout).toMatch(/0 of 1 cases within tolerance/);
  });

  it('scales a case up (tiling inputs and expectations, sums included) and still matches', () => {
    const t = run(join(build, 'driver-host', 'dcf-driver'), [
      cases,
      '--only',
      'rms_norm_backward',
      '--scale-mib',
      '4',
      '--min-ms',
      '1',
    ]);
    expect(t.stdout).toMatch(/1 of 1 cases within tolerance/);
    expect(run(join(build, 'driver-host', 'dcf-driver'), [join(build, 'no-such-dir')]).status).toBe(2);
  });
});

describe.skipIf(noHost)('scripts/gpu-check.sh, dry run on the host build', () => {
  it('prints the machine, the table and its sections, and exits 0', () => {
    const r = run('bash', [join(packageRoot, 'scripts', 'gpu-check.sh'), cases], {
      DCF_CHECK_VARIANT: 'host',
      SCALE_MIB: '1',
      DCF_CHECK_OUT: join(build, 'driver-host'),
      DCF_CUBLAS: '0',
    });
    expect(r.stdout).toMatch(/== machine/);
    expect(r.stdout).toMatch(/17 of 17 cases within tolerance/);
    expect(r.stdout).toMatch(/== Vulkan/);
    // the model check on the host build: a tiny DCFormer trains and decodes on 'cuda' without a fallback
    expect(r.stdout).toMatch(/train step 2 \(tiny, 1 × 16\)/);
    expect(r.stdout).toMatch(/fallbacks to the cpu backend: 0 call\(s\)/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe.skipIf(noNvcc !== null)('the kernel driver, device variant (nvcc)', () => {
  it('compiles, and without a GPU says why instead of running', () => {
    const out = join(build, 'driver-device');
    const b = run('bash', [join(packageRoot, 'driver', 'build.sh'), 'device', out], { ARCHS: '90' });
    expect(b.status, b.stdout + b.stderr).toBe(0);
    expect(existsSync(join(out, 'dcf-driver'))).toBe(true);
    const r = run(join(out, 'dcf-driver'), [cases]);
    if (r.stdout.includes('no device')) expect(r.status).toBe(2);
    else console.warn('[the no-GPU driver check] skipping: a GPU answered');
  }, 240_000);
});
