/**
 * `--backend webgpu` through Dawn in Node (SwiftShader without a GPU): logits, cached logits and
 * grads of oracle case 4 within DESIGN.md's tolerances. No adapter: skipped with the reason printed,
 * except under CI=true, where it fails so WebGPU cannot go silently untested.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, ORACLE_DIR, readGolden, removeTempDirs, run, tempDir, writeIds, type Golden } from './test-support.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const haveVulkan = existsSync(SWIFTSHADER) || process.env.VK_ICD_FILENAMES !== undefined;
if (!haveVulkan && process.env.CI !== 'true') console.log(`webgpu CLI tests skipped: no Vulkan driver (${SWIFTSHADER} missing)`);

afterAll(removeTempDirs);

describe.runIf(haveVulkan || process.env.CI === 'true')('dcformer --backend webgpu', () => {
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
    for (const [extra, ref] of [[[], golden.train_as_infer.logits], [['--prefill', String(golden.infer.prefill_len)], golden.infer.logits]] as const) {
      const out = join(dir, `logits${extra.length}.json`);
      const r = await run(['logits', '--model', modelDir, '--input', ids, '--out', out, '--backend', 'webgpu', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.errLines[0]).toBe('dcformer: backend webgpu');
      const ours = (JSON.parse(await readFile(out, 'utf8')) as { logits: number[][][] }).logits;
      expect(maxAbsDiff(ours.flat(2), ref.flat(2))).toBeLessThanOrEqual(1e-4);
    }
  }, 300_000);

  it('grads run and report the loss within 1e-5', async () => {
    const out = join(dir, 'g.safetensors');
    const r = await run(['grads', '--model', modelDir, '--input', ids, '--out', out, '--backend', 'webgpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(Math.abs((JSON.parse(r.stdout) as { loss: number }).loss - golden.train_as_infer.loss)).toBeLessThanOrEqual(1e-5);
  }, 300_000);
});
