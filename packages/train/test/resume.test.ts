/**
 * Acceptance: 6 steps in one go, or 3 steps + checkpoint + resume + 3 steps, give identical losses and
 * bit-identical weights and optimizer state.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTIMIZER_FILE } from '../src/checkpoints.js';
import { runTraining, type RunOptions } from '../src/run.js';
import { MICRO, microSettings, microTokens } from './micro.js';

const root = mkdtempSync(join(tmpdir(), 'dcf-resume-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function options(outDir: string, over: Partial<RunOptions> = {}): RunOptions {
  return { outDir, settings: microSettings(), config: MICRO, tokens: microTokens(), dataHash: 'micro', ...over };
}

describe('exact resume', () => {
  it('6 steps == 3 + resume + 3 (losses, weights and moments bit for bit)', async () => {
    const straight = await runTraining(options(join(root, 'a')));
    straight.model.dispose();

    const first = await runTraining(options(join(root, 'b'), { stopAfter: 3 }));
    first.model.dispose();
    expect(first.step).toBe(3);
    expect(first.finished).toBe(false);
    const second = await runTraining(options(join(root, 'b'), { resume: true }));
    second.model.dispose();
    expect(second.step).toBe(6);

    const losses = (h: typeof straight.history) => h.map((r) => [r.step, r.train_loss, r.val_loss ?? null]);
    expect(losses(second.history)).toEqual(losses(straight.history));
    expect(second.history.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const file of ['model.safetensors', OPTIMIZER_FILE]) {
      const a = readFileSync(join(straight.checkpoint, file));
      const b = readFileSync(join(second.checkpoint, file));
      expect(b.equals(a), file).toBe(true);
    }
    const state = (dir: string) => {
      const s = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8'));
      return { ...s, elapsedS: 0 };
    };
    expect(state(second.checkpoint)).toEqual(state(straight.checkpoint));
  });

  it('refuses a config that differs from the checkpoint, naming the keys', async () => {
    await expect(
      runTraining(options(join(root, 'b'), { resume: true, config: { ...MICRO, dim: 64, headDim: 16 } })),
    ).rejects.toThrow(
      /model config differs from the checkpoint's \(dim: 32 in the checkpoint vs 64 requested; head_dim: 8 in the checkpoint vs 16 requested\)/,
    );
  });
});
