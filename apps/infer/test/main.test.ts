/**
 * `dcformer logits` and `dcformer grads` against the official PyTorch implementation's golden data
 * (fixtures/oracle, the `train_as_infer` path; tolerances from DESIGN.md "Golden data").
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { float32ToJson } from '../src/float-json.js';
import {
  expectedGrads,
  GOLDEN_CASES,
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

afterAll(removeTempDirs);

describe.each(GOLDEN_CASES)('%s', (caseName) => {
  const modelDir = join(ORACLE_DIR, caseName);
  let golden: Golden;
  let dir: string;
  let idsPath: string;

  beforeAll(async () => {
    golden = await readGolden(caseName);
    dir = await tempDir();
    idsPath = await writeIds(dir, golden.input_ids);
  });

  it('logits match train_as_infer within 1e-4 and round-trip float32', async () => {
    const out = join(dir, 'logits.json');
    const r = await run(['logits', '--model', modelDir, '--input', idsPath, '--out', out, '--json']);
    expect(r.stderr).toMatch(
      /^dcformer: backend cpu\ndcformer logits: wrote .* \(logits \[\d+,\d+,\d+\]\) in [\d.]+ s\n$/,
    );
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { out: string; shape: number[] };
    const ref = golden.train_as_infer.logits;
    expect(summary).toMatchObject({ out, shape: [ref.length, ref[0].length, ref[0][0].length] });

    const ours = (JSON.parse(await readFile(out, 'utf8')) as { logits: number[][][] }).logits;
    expect([ours.length, ours[0].length, ours[0][0].length]).toEqual(summary.shape);
    const a = ours.flat(2);
    const b = ref.flat(2);
    // Each number is the canonical text of a float32: formatting its float32 again changes nothing.
    expect(a.every((x) => Number(float32ToJson(Math.fround(x))) === x)).toBe(true);
    expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-4);
  });

  it('logits --prefill P match the official cached inference path (infer.logits) within 1e-4', async () => {
    const out = join(dir, 'logits-cached.json');
    const r = await run([
      'logits',
      '--model',
      modelDir,
      '--input',
      idsPath,
      '--out',
      out,
      '--prefill',
      String(golden.infer.prefill_len),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const ours = (JSON.parse(await readFile(out, 'utf8')) as { logits: number[][][] }).logits;
    expect(maxAbsDiff(ours.flat(2), golden.infer.logits.flat(2))).toBeLessThanOrEqual(1e-4);
  });

  it('grads match train_as_infer within 1e-3 of each stored tensor max, for every trainable parameter', async () => {
    const out = join(dir, 'grads.safetensors');
    const r = await run(['grads', '--model', modelDir, '--input', idsPath, '--out', out, '--json']);
    expect(r.errLines[0]).toBe('dcformer: backend cpu');
    expect(r.errLines[1]).toMatch(/^dcformer grads: loss [\d.]+, \d+ tensors -> /);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { loss: number; tensors: number; out: string };
    expect(Math.abs(summary.loss - golden.train_as_infer.loss)).toBeLessThanOrEqual(1e-5);

    const ours = await readF32Safetensors(out);
    const expected = expectedGrads(await readF32Safetensors(join(ORACLE_DIR, caseName, 'grads.safetensors')));
    expect(summary).toEqual({ loss: summary.loss, tensors: ours.size, out });
    expect([...ours.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(gradMismatches(ours, expected)).toEqual([]);
  });
});

it('the oracle fixtures are present (the golden tests above would otherwise say little)', () => {
  for (const c of GOLDEN_CASES) expect(existsSync(join(ORACLE_DIR, c, 'model.safetensors')), c).toBe(true);
});
