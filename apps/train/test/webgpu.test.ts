/**
 * `dcformer-train --backend webgpu` through Dawn in Node (SwiftShader without a GPU): a few steps of
 * the `tiny` preset give the cpu backend's losses (same seed, same data) to 1e-4 relative, evaluate,
 * sample and write a checkpoint. Every read on that path must be `await data()`: a synchronous read
 * of GPU data throws in Node. No adapter: skipped with the reason printed, except under CI=true,
 * where the file fails so WebGPU cannot go silently untested.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installNodeWebGPU } from '@dcformer/kernels-webgpu/node';
import { run, workspace } from './support.js';
import { skipUnlessCI } from '../../../tools/test-env.mjs';

// The same (memoised) install the CLI's --backend webgpu does, asked first to decide on skipping.
const gpu = await installNodeWebGPU();
const skipWebgpu = skipUnlessCI('the dcformer-train --backend webgpu tests', gpu.ok ? null : gpu.reason);

const w = workspace();
afterAll(() => rmSync(w.dir, { recursive: true, force: true }));

interface Line {
  step: number;
  train_loss: number;
  grad_norm: number;
  val_loss?: number;
  checkpoint?: string;
  sample?: string | null;
}

/** Three steps of `tiny` on short sequences (SwiftShader runs ~0.3 GFLOP/s), evaluated at the end. */
async function train(backend: string): Promise<{ lines: Line[]; stderr: string }> {
  const r = await run([
    '--preset',
    'tiny',
    '--data',
    w.corpus,
    '--out',
    join(w.dir, backend),
    '--backend',
    backend,
    '--json',
    '--steps',
    '3',
    '--batch-size',
    '2',
    '--seq-len',
    '32',
    '--eval-every',
    '3',
    '--eval-batches',
    '1',
    '--log-every',
    '1',
    '--sample-tokens',
    '4',
    '--seed',
    '3',
  ]);
  expect(r.code, r.stderr).toBe(0);
  return {
    lines: r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line),
    stderr: r.stderr,
  };
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe.skipIf(skipWebgpu)('dcformer-train --backend webgpu', () => {
  it("tiny: the cpu backend's losses to 1e-4 relative, then a checkpoint", async () => {
    const cpu = await train('cpu');
    const web = await train('webgpu');
    expect(web.stderr).toMatch(/^dcformer-train: backend webgpu$/m);
    const [cpuSteps, webSteps] = [cpu.lines.slice(0, 3), web.lines.slice(0, 3)];
    const show = (name: string, steps: Line[]) =>
      `  ${name.padEnd(6)} losses ${steps.map((l) => l.train_loss).join(', ')}  val ${steps[2].val_loss}  grad norms ${steps.map((l) => l.grad_norm).join(', ')}`;
    console.log(`[train webgpu] ${gpu.ok ? gpu.adapter : ''}\n${show('cpu', cpuSteps)}\n${show('webgpu', webSteps)}`);
    expect(webSteps.map((l) => l.step)).toEqual([1, 2, 3]);
    for (let i = 0; i < 3; i++) {
      expect(relative(webSteps[i].train_loss, cpuSteps[i].train_loss), `step ${i + 1} loss`).toBeLessThanOrEqual(1e-4);
      expect(relative(webSteps[i].grad_norm, cpuSteps[i].grad_norm), `step ${i + 1} grad norm`).toBeLessThanOrEqual(
        1e-4,
      );
    }
    expect(relative(webSteps[2].val_loss as number, cpuSteps[2].val_loss as number)).toBeLessThanOrEqual(1e-4);

    // The summary: a sample read back with await data(), and the checkpoint directory.
    const summary = web.lines[3];
    expect(typeof summary.sample).toBe('string');
    const ckpt = join(w.dir, 'webgpu', 'checkpoints', 'step-000003');
    expect(summary.checkpoint).toBe(ckpt);
    for (const file of [
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'tokenizer.json',
      'trainer_state.json',
    ]) {
      expect(existsSync(join(ckpt, file)), file).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8')).step).toBe(3);
    // Same size as the cpu run's: every weight was read back from the GPU and written.
    expect(readFileSync(join(ckpt, 'model.safetensors')).length).toBe(
      readFileSync(join(w.dir, 'cpu', 'checkpoints', 'step-000003', 'model.safetensors')).length,
    );
  }, 300_000);
});
