/**
 * Acceptance: SIGKILL while a checkpoint is being written leaves the previous checkpoint complete and
 * loadable, and the run resumes from it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '@dcformer/model/node';
import { latestCheckpoint, listCheckpoints, loadCheckpoint } from '../src/checkpoints.js';

const CHILD = fileURLToPath(new URL('./fixtures/kill-child.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'dcf-kill-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs the child until it prints WRITING, then SIGKILLs it. Resolves with its stdout. */
function killDuringWrite(outDir: string, stage: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, outDir, stage], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('WRITING')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(out);
      else reject(new Error(`child exited with ${code} before the kill: ${err}`));
    });
  });
}

describe('checkpoint writes survive SIGKILL', () => {
  for (const stage of ['model', 'optimizer', 'rename']) {
    it(`killed at stage '${stage}' of checkpoint 2: checkpoint 1 stays loadable`, async () => {
      const outDir = join(root, stage);
      const out = await killDuringWrite(outDir, stage);
      expect(out).toContain('saved 1');
      expect(out).not.toContain('saved 2');
      const ckRoot = join(outDir, 'checkpoints');
      expect(readdirSync(ckRoot).some((n) => n.startsWith('.tmp-step-000002'))).toBe(true);
      expect((await listCheckpoints(ckRoot)).map((c) => c.step)).toEqual([1]);
      const latest = await latestCheckpoint(ckRoot);
      const model = await loadModel(latest?.dir as string);
      expect(model.variables.size).toBeGreaterThan(0);
      model.dispose();
      const ck = await loadCheckpoint(latest?.dir as string);
      expect(ck.optimizer.step).toBe(1);
      expect(ck.state.step).toBe(1);
      ck.model.dispose();
    });
  }
});
