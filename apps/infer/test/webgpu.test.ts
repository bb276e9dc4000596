/**
 * `--backend webgpu` through Dawn in Node (SwiftShader without a GPU): logits, cached logits and
 * every gradient of oracle case 4 within DESIGN.md's tolerances. No adapter: skipped with the reason
 * printed, except under CI (any truthy CI), where the file fails naming what is missing, so WebGPU
 * cannot go silently untested.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNodeWebGPU } from '@dcformer/kernels-webgpu/node';
import { skipUnlessCI } from '../../../tools/test-env.mjs';
import {
  expectedGrads,
  gradMismatches,
  maxAbsDiff,
  ORACLE_DIR,
  readF32Safetensors,
  readGolden,
  removeTempDirs,
  run,
  tempDir,
  writeIds,
  type Golden,
} from './test-support.js';

// The same (memoised) install the CLI's --backend webgpu does, asked first to decide on skipping:
// its reason names what is missing (the npm 'webgpu' package, an adapter, SwiftShader's ICD).
const gpu = await installNodeWebGPU();
const skipWebgpu = skipUnlessCI('the dcformer --backend webgpu tests', gpu.ok ? null : gpu.reason);

afterAll(removeTempDirs);

describe.skipIf(skipWebgpu)('dcformer --backend webgpu', () => {
  const caseName = 'case4_dcpythia';
  const modelDir = join(ORACLE_DIR, caseName);
  let golden: Golden;
  let dir: string;
  let ids: string;
  beforeAll(async () => {
    golden = await readGolden(caseName);
    dir = await tempDir();
    ids = await writeIds(dir, golden.input_ids);
  });

  it('logits (full and --prefill) match the official code within 1e-4', async () => {
    for (const [extra, ref] of [
      [[], golden.train_as_infer.logits],
      [['--prefill', String(golden.infer.prefill_len)], golden.infer.logits],
    ] as const) {
      const out = join(dir, `logits${extra.length}.json`);
      const r = await run([
        'logits',
        '--model',
        modelDir,
        '--input',
        ids,
        '--out',
        out,
        '--backend',
        'webgpu',
        ...extra,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.errLines[0]).toBe('dcformer: backend webgpu');
      const ours = (JSON.parse(await readFile(out, 'utf8')) as { logits: number[][][] }).logits;
      expect(maxAbsDiff(ours.flat(2), ref.flat(2))).toBeLessThanOrEqual(1e-4);
    }
  }, 300_000);

  it('grads: the loss within 1e-5 and every gradient within 1e-3 of its stored max', async () => {
    const out = join(dir, 'g.safetensors');
    const r = await run(['grads', '--model', modelDir, '--input', ids, '--out', out, '--backend', 'webgpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(Math.abs((JSON.parse(r.stdout) as { loss: number }).loss - golden.train_as_infer.loss)).toBeLessThanOrEqual(
      1e-5,
    );
    const expected = expectedGrads(await readF32Safetensors(join(ORACLE_DIR, caseName, 'grads.safetensors')));
    expect(expected.size).toBeGreaterThan(0);
    expect(gradMismatches(await readF32Safetensors(out), expected)).toEqual([]);
  }, 300_000);
});
