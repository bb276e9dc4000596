/**
 * Without the native addon (DCFORMER_NATIVE=0, read when @dcformer/kernels-cpu first loads it) the
 * default backend is wasm, named in one stderr line with the reason and the way to the native
 * kernels; a model trains there (gradients through the reference kernels and the wasm
 * BatchMatMul and UnsortedSegmentSum of @dcformer/cli-utils) to the cpu backend's losses. The first
 * two steps' times and ETAs come as soon as each ends, before the first log line, and --json's stdout
 * stays JSON.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { microFlags, run, workspace } from './support.js';

process.env.DCFORMER_NATIVE = '0';

const w = workspace();
afterAll(() => rmSync(w.dir, { recursive: true, force: true }));

const BACKEND_LINE =
  'dcformer-train: backend wasm (SIMD, one thread; disabled by DCFORMER_NATIVE=0; unset DCFORMER_NATIVE for the native cpu kernels)';
const FIRST_STEP =
  /^dcformer-train: step 1\/3 took \d+\.\d\ds \([\d.k]+ tok\/s, the first step includes warm-up\); ETA \d+s at this pace$/m;

describe('dcformer-train without the native addon', () => {
  it('defaults to wasm, says so once, and trains (--json)', async () => {
    const r = await run(microFlags(w, join(w.dir, 'json'), ['--json', '--sample-tokens', '0']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('backend'))).toEqual([BACKEND_LINE]);
    expect(r.stderr).toMatch(FIRST_STEP);
    expect(r.stderr).toMatch(/^dcformer-train: step 2\/3 took \d+\.\d\ds; ETA \d+s at this pace$/m);
    expect(r.stderr).not.toMatch(/^dcformer-train: step 3\/3 took/m);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; train_loss: number; val_loss?: number });
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 3]);
    for (const l of lines) expect(Number.isFinite(l.train_loss)).toBe(true);
    expect(lines[3].val_loss).toBeGreaterThan(0);
  });

  it('trains as the cpu backend does: the same losses within 1e-4 relative', async () => {
    const lossesOn = async (backend: string) => {
      const r = await run(
        microFlags(w, join(w.dir, `same-${backend}`), ['--json', '--sample-tokens', '0', '--backend', backend]),
      );
      expect(r.code, r.stderr).toBe(0);
      return r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { train_loss: number; val_loss?: number });
    };
    const wasm = await lossesOn('wasm');
    const cpu = await lossesOn('cpu');
    expect(wasm).toHaveLength(cpu.length);
    for (let i = 0; i < cpu.length; i++) {
      expect(Math.abs(wasm[i].train_loss - cpu[i].train_loss)).toBeLessThan(1e-4 * cpu[i].train_loss);
      if (cpu[i].val_loss !== undefined)
        expect(Math.abs(wasm[i].val_loss! - cpu[i].val_loss!)).toBeLessThan(1e-4 * cpu[i].val_loss!);
    }
  });

  it('--backend wasm: the first step line comes before the first log line', async () => {
    let all = '';
    const write = (t: string) => (all += t);
    const code = await main(
      microFlags(w, join(w.dir, 'lines'), ['--backend', 'wasm', '--progress', 'lines', '--sample-tokens', '0']),
      {
        stdout: { write },
        stderr: { write },
      },
    );
    expect(code, all).toBe(0);
    expect(all).toMatch(/^dcformer-train: backend wasm$/m);
    const first = all.search(FIRST_STEP);
    expect(first).toBeGreaterThan(-1);
    expect(first).toBeLessThan(all.search(/^step 1\/3 /m));
  });
});
