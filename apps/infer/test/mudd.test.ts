/**
 * `dcformer logits / grads / generate` on the MUDDFormer / MUDDPythia fixture folders
 * (fixtures/oracle-mudd) against the official code's golden data, as main.test.ts does for DCFormer.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, parseConfig } from '@dcformer/model';
import { saveModel } from '@dcformer/model/node';
import {
  gradMismatches,
  maxAbs,
  maxAbsDiff,
  readF32Safetensors,
  removeTempDirs,
  run,
  tempDir,
  writeIds,
  type ExpectedGrad,
} from './test-support.js';

const MUDD_DIR = fileURLToPath(new URL('../../../fixtures/oracle-mudd/', import.meta.url));
const CASES = ['case_m1_muddformer', 'case_m2_muddpythia'];
const NEOX_TOKENIZER = fileURLToPath(
  new URL('../../../packages/tokenizer/test/fixtures/gpt-neox-20b/tokenizer.json.gz', import.meta.url),
);

interface MuddGolden {
  input_ids: number[][];
  train: { loss: number; logits: number[][][] };
  infer: { prefill_len: number; logits: number[][][] };
  generate: { ids: number[][]; prompt_len: number; n_gen: number };
}

afterAll(removeTempDirs);

describe.each(CASES)('%s', (caseName) => {
  const modelDir = join(MUDD_DIR, caseName);
  let golden: MuddGolden;
  let dir: string;
  let idsPath: string;

  beforeAll(async () => {
    golden = JSON.parse(await readFile(join(modelDir, 'golden.json'), 'utf8')) as MuddGolden;
    dir = await tempDir();
    idsPath = await writeIds(dir, golden.input_ids);
  });

  it('logits match the official training forward within 1e-4; --prefill P matches its cached path', async () => {
    const out = join(dir, 'logits.json');
    const r = await run(['logits', '--model', modelDir, '--input', idsPath, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const ours = (JSON.parse(await readFile(out, 'utf8')) as { logits: number[][][] }).logits;
    expect(maxAbsDiff(ours.flat(2), golden.train.logits.flat(2))).toBeLessThanOrEqual(1e-4);

    const cachedOut = join(dir, 'logits-cached.json');
    const c = await run([
      'logits',
      '--model',
      modelDir,
      '--input',
      idsPath,
      '--out',
      cachedOut,
      '--prefill',
      String(golden.infer.prefill_len),
    ]);
    expect(c.code, c.stderr).toBe(0);
    const cached = (JSON.parse(await readFile(cachedOut, 'utf8')) as { logits: number[][][] }).logits;
    expect(maxAbsDiff(cached.flat(2), golden.infer.logits.flat(2))).toBeLessThanOrEqual(1e-4);
  });

  it('grads: loss within 1e-5, every parameter within 1e-3 of its max |g|', async () => {
    const out = join(dir, 'grads.safetensors');
    const r = await run(['grads', '--model', modelDir, '--input', idsPath, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { loss: number };
    expect(Math.abs(summary.loss - golden.train.loss)).toBeLessThanOrEqual(1e-5);
    const expected = new Map<string, ExpectedGrad>();
    for (const [name, t] of await readF32Safetensors(join(modelDir, 'grads.safetensors'))) {
      expected.set(name, { ...t, scale: maxAbs(t.data) });
    }
    expect(gradMismatches(await readF32Safetensors(out), expected)).toEqual([]);
  });

  it('generate: greedy ids equal the official ones', async () => {
    const { ids, prompt_len: P, n_gen: n } = golden.generate;
    const prompts = await writeIds(
      dir,
      ids.map((row) => row.slice(0, P)),
      'prompts.json',
    );
    const r = await run(['generate', '--model', modelDir, '--input', prompts, '--max-new-tokens', String(n), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { ids: number[][] }).ids).toEqual(ids);
  });
});

describe('a MUDDPythia folder in the released layout with the GPT-NeoX tokenizer', () => {
  it('generate --prompt encodes with the folder tokenizer and decodes the continuation', async () => {
    const dir = await tempDir();
    // released MUDDPythia-2.8B switches and NeoX vocabulary (50432), tiny widths; bf16 weights as released
    const config = parseConfig({
      model_type: 'muddpythia',
      dim: 32,
      n_head: 4,
      n_layer: 2,
      vocab_size: 50432,
      block_size: 64,
      intermediate_size: 256,
      expand_last: true,
      round64: true,
      use_qk_norm: true,
      rotary_pct: 0.25,
    });
    await tf.setBackend('cpu');
    const model = initModel(config, 1);
    await saveModel(model, dir, { dtype: 'BF16' });
    model.dispose();
    await copyFile(NEOX_TOKENIZER, join(dir, 'tokenizer.json.gz'));
    const r = await run([
      'generate',
      '--model',
      dir,
      '--prompt',
      'The dense connections',
      '--max-new-tokens',
      '4',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ids: number[][]; text: string[] | string };
    // "The dense connections" is 3 NeoX tokens: 510 14086 10291
    expect(out.ids[0].slice(0, 3)).toEqual([510, 14086, 10291]);
    expect(out.ids[0]).toHaveLength(7);
    expect(typeof (Array.isArray(out.text) ? out.text[0] : out.text)).toBe('string');
  });
});

describe('convert on a MUDD folder', () => {
  it('writes official keys and names that load back to the same logits', async () => {
    const modelDir = join(MUDD_DIR, 'case_m1_muddformer');
    const g = JSON.parse(await readFile(join(modelDir, 'golden.json'), 'utf8')) as MuddGolden;
    const dir = await tempDir();
    const out = join(dir, 'converted');
    const r = await run(['convert', '--model', modelDir, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'muddformer', dense: true, dense_type: 'qkvr', expand_last: true });
    const logits = join(dir, 'logits.json');
    const ids = await writeIds(dir, g.input_ids);
    const l = await run(['logits', '--model', out, '--input', ids, '--out', logits]);
    expect(l.code, l.stderr).toBe(0);
    const ours = (JSON.parse(await readFile(logits, 'utf8')) as { logits: number[][][] }).logits;
    expect(maxAbsDiff(ours.flat(2), g.train.logits.flat(2))).toBeLessThanOrEqual(1e-4);
  });
});

describe('eval on a MUDD model', () => {
  it('--task loglikelihood on prefixes of the oracle input: logprob and is_greedy from the official logits', async () => {
    const modelDir = join(MUDD_DIR, 'case_m2_muddpythia');
    const g = JSON.parse(await readFile(join(modelDir, 'golden.json'), 'utf8')) as MuddGolden;
    const ids = g.input_ids[1];
    const rows = g.train.logits[1];
    // float64 log-softmax of the official logits: expectations independent of this project's forward
    const score = (context: number, end: number) => {
      let logprob = 0;
      let greedy = true;
      for (let t = context; t < end; t++) {
        const row = rows[t - 1];
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
        logprob += row[ids[t]] - lse;
        if (row.indexOf(max) !== ids[t]) greedy = false;
      }
      return { logprob, greedy };
    };
    const spans: [number, number][] = [
      [5, 9],
      [12, 13],
      [20, 27],
    ];
    const dir = await tempDir();
    const data = join(dir, 'req.jsonl');
    await writeFile(
      data,
      spans
        .map(([c, e]) => JSON.stringify({ context_ids: ids.slice(0, c), continuation_ids: ids.slice(c, e) }))
        .join('\n'),
    );
    const r = await run(['eval', '--model', modelDir, '--task', 'loglikelihood', '--data', data]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { logprob: number; is_greedy: boolean });
    spans.forEach(([c, e], i) => {
      const want = score(c, e);
      expect(Math.abs(lines[i].logprob - want.logprob), `span ${i}`).toBeLessThanOrEqual(2e-4 * (e - c));
      expect(lines[i].is_greedy, `span ${i}`).toBe(want.greedy);
    });
  });
});
