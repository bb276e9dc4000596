/**
 * dcformer-train end to end on a micro model: --json lines and summary, a checkpoint directory that
 * loads as a model directory (weights, config, tokenizer), the loss curve, resume, --compare-mha.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '@dcformer/model/node';
import { loadTokenizer } from '@dcformer/tokenizer/node';
import { microFlags, run, workspace } from './support.js';

const w = workspace();
afterAll(() => rmSync(w.dir, { recursive: true, force: true }));

describe('dcformer-train', () => {
  it('--help lists the presets and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['tiny', 'tiny-mudd', 'bench-small', 'bench-small-mha', 'dcformer-405m'])
      expect(r.stdout).toContain(name);
  });

  it('--json: one object per log line, val_loss on evaluation steps, then the summary; resume continues; --overwrite starts afresh', async () => {
    const out = join(w.dir, 'run');
    const r = await run(microFlags(w, out, ['--json']));
    expect(r.stderr).toMatch(/backend cpu/);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.slice(0, 3).map((l) => l.step)).toEqual([1, 2, 3]);
    expect(lines.slice(0, 3).map((l) => 'val_loss' in l)).toEqual([false, true, true]);
    for (const key of ['train_loss', 'lr', 'tokens_per_s']) expect(typeof lines[0][key]).toBe('number');
    const summary = lines[3];
    expect(summary).toMatchObject({ step: 3, checkpoint: join(out, 'checkpoints', 'step-000003') });
    expect(summary.val_loss).toBeGreaterThan(0);
    expect(typeof summary.sample).toBe('string');
    expect(existsSync(join(out, 'loss.svg'))).toBe(true);
    expect(readFileSync(join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);

    // The checkpoint is a model directory: weights + config + tokenizer, nothing else needed.
    const model = await loadModel(summary.checkpoint);
    expect(model.config.dim).toBe(32);
    model.dispose();
    const tok = await loadTokenizer(summary.checkpoint);
    expect(tok.vocabSize).toBe(257);

    const more = await run(microFlags(w, out, ['--json', '--resume', '--steps', '4', '--extend']));
    expect(more.code).toBe(0);
    const moreLines = more.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(moreLines.at(-1)).toMatchObject({ step: 4, checkpoint: join(out, 'checkpoints', 'step-000004') });

    const fresh = await run(microFlags(w, out, ['--json', '--overwrite', '--steps', '2', '--sample-tokens', '0']));
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['step-000002']);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('--compare-mha trains both models on the same data and prints a table', async () => {
    const out = join(w.dir, 'compare');
    const r = await run(
      microFlags(w, out, ['--compare-mha', '--steps', '2', '--progress', 'lines', '--sample-tokens', '0']),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'dcformer', 'checkpoints', 'step-000002'))).toBe(true);
    expect(existsSync(join(out, 'transformer', 'checkpoints', 'step-000002'))).toBe(true);
    expect(r.stdout).toMatch(/model\s+parameters\s+final val loss\s+val loss @ \d+ s\s+tokens\/s\s+steps/);
    expect(r.stdout).toMatch(/DCFormer\+\+/);
    expect(r.stdout).toMatch(/Transformer\+\+/);
    const svg = readFileSync(join(out, 'loss.svg'), 'utf8');
    expect(svg).toContain('DCFormer++ validation');
    expect(svg).toContain('Transformer++ validation');
    const cmp = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    expect(cmp.runs.map((x: { model: string }) => x.model)).toEqual(['dcformer', 'transformer']);
    expect(cmp.runs[0].parameters).toBeGreaterThan(cmp.runs[1].parameters);
  });

  it('--compare mha,mudd trains DCFormer++, Transformer++ and MUDDFormer on the same data; equal-time column', async () => {
    const out = join(w.dir, 'compare3');
    const r = await run(
      microFlags(w, out, ['--compare', 'mha,mudd', '--steps', '2', '--progress', 'lines', '--sample-tokens', '0']),
    );
    expect(r.code, r.stderr).toBe(0);
    for (const name of ['dcformer', 'transformer', 'muddformer'])
      expect(existsSync(join(out, name, 'checkpoints', 'step-000002')), name).toBe(true);
    expect(r.stdout).toMatch(/model\s+parameters\s+final val loss\s+val loss @ \d+ s\s+tokens\/s\s+steps/);
    expect(r.stdout).toMatch(/MUDDFormer/);
    const cmp = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    expect(cmp.runs.map((x: { model: string }) => x.model)).toEqual(['dcformer', 'transformer', 'muddformer']);
    // the fastest run's last validation is within the equal time; a slower run's may not be yet (null)
    const atTime = cmp.runs.map((x: { val_loss_at_equal_time: number | null }) => x.val_loss_at_equal_time);
    expect(atTime.some((v: number | null) => v !== null && v > 0)).toBe(true);
    // the MUDD side is a MUDD checkpoint that loads as a model directory
    const mudd = await loadModel(join(out, 'muddformer', 'checkpoints', 'step-000002'));
    expect(mudd.config).toMatchObject({ family: 'muddformer', dim: 32, useDcmha: false, windowSize: null });
    mudd.dispose();
    const bad = await run(microFlags(w, join(w.dir, 'bad'), ['--compare', 'mha,llama']));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--compare: unknown model 'llama'/);
  });

  it('a MUDDFormer config trains, checkpoints and resumes', async () => {
    const config = join(w.dir, 'micro-mudd.json');
    writeFileSync(
      config,
      JSON.stringify({ model_type: 'muddformer', dim: 32, n_head: 4, n_layer: 2, vocab_size: 257, block_size: 16 }),
    );
    const out = join(w.dir, 'mudd');
    const flags = (extra: string[]) => microFlags(w, out, ['--config', config, '--sample-tokens', '0', ...extra]);
    const r = await run(flags(['--json', '--steps', '2']));
    expect(r.code, r.stderr).toBe(0);
    const more = await run(flags(['--json', '--resume', '--steps', '3', '--extend']));
    expect(more.code, more.stderr).toBe(0);
    const last = JSON.parse(more.stdout.trim().split('\n').at(-1) as string);
    expect(last).toMatchObject({ step: 3, checkpoint: join(out, 'checkpoints', 'step-000003') });
    const model = await loadModel(last.checkpoint);
    expect(model.config).toMatchObject({ family: 'muddformer', dim: 32 });
    model.dispose();
    // the other direction is refused: --compare needs a DCFormer base
    const cmp = await run(microFlags(w, join(w.dir, 'mudd-cmp'), ['--config', config, '--compare', 'mha']));
    expect(cmp.code).toBe(2);
    expect(cmp.stderr).toMatch(/--compare trains DCFormer\+\+ against the listed models/);
  });
});
