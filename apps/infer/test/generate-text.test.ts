/**
 * `dcformer generate` with text, run as the built bin: past block_size, --stop, special tokens kept
 * out of the text, which flags mean greedy, and the --json contract (ids = prompt + new, text = new).
 * The models are micro (block_size 16) and made here with the byte-level tokenizer.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, modelFromWeights, modelWeights, resolveConfig } from '@dcformer/model';
import { saveModel } from '@dcformer/model/node';
import { removeTempDirs, tempDir } from './test-support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(APP_DIR, 'dist', 'cli.js');
const BYTE_TOKENIZER = createRequire(import.meta.url).resolve('@dcformer/tokenizer/assets/byte-level/tokenizer.json');
const BLOCK = 16;

let plain: string;
let padding: string;

/** A micro model over the byte-level vocabulary (257 ids, `<|endoftext|>` = 256). */
async function byteModel(dir: string): Promise<string> {
  const config = resolveConfig({
    family: 'dcformer',
    dim: 32,
    nHead: 4,
    nLayer: 2,
    vocabSize: 257,
    blockSize: BLOCK,
    windowSize: 8,
    windowType: 'LG',
    useQkNorm: true,
    qChunkSize: 16,
    intermediateSize: 64,
  });
  const model = initModel(config, 1);
  await saveModel(model, dir);
  model.dispose();
  writeFileSync(join(dir, 'tokenizer.json'), readFileSync(BYTE_TOKENIZER));
  return dir;
}

/**
 * A model that always chooses id 0, with a tokenizer in which id 0 is a special token that is not
 * end-of-text (`<|pad|>`; the byte it displaces moves to id 257): every new token is special.
 */
async function paddingModel(dir: string): Promise<string> {
  const config = resolveConfig({
    family: 'dcformer',
    dim: 32,
    nHead: 4,
    nLayer: 1,
    vocabSize: 258,
    blockSize: BLOCK,
    windowSize: null,
    windowType: null,
    useQkNorm: true,
    qChunkSize: 16,
    intermediateSize: 64,
  });
  const random = initModel(config, 2);
  const weights = modelWeights(random);
  random.dispose();
  // final norm scale 0: every logit is 0 and argmax takes the first id, as torch.argmax does
  weights.get('norm.weight')!.data.fill(0);
  const model = modelFromWeights(config, weights);
  await saveModel(model, dir);
  model.dispose();
  const tok = JSON.parse(readFileSync(BYTE_TOKENIZER, 'utf8'));
  const byte0 = Object.keys(tok.model.vocab).find((k) => tok.model.vocab[k] === 0)!;
  tok.model.vocab[byte0] = 257;
  tok.added_tokens.push({
    id: 0,
    content: '<|pad|>',
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok));
  return dir;
}

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
  await tf.setBackend('cpu');
  plain = await byteModel(await tempDir());
  padding = await paddingModel(await tempDir());
});
afterAll(removeTempDirs);

function generate(model: string, args: string[]) {
  const r = spawnSync(CLI, ['generate', '--model', model, '--backend', 'cpu', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DCF_DEBUG: '' },
  });
  return { ...r, errLines: r.stderr.split('\n').filter((l) => l !== '') };
}

interface Json {
  ids: number[][];
  text: string[];
  prefill_ms: number;
  decode_tokens_per_s: number;
}

describe('dcformer generate (built bin) with text', () => {
  let greedy: Json;
  beforeAll(() => {
    const r = generate(plain, ['--prompt', 'Hi', '--max-new-tokens', '40', '--json']);
    expect(r.status, r.stderr).toBe(0);
    greedy = JSON.parse(r.stdout) as Json;
  });

  it('goes past block_size (16) by cropping the context, and says so once', () => {
    const r = generate(plain, ['--prompt', 'Hi', '--max-new-tokens', '40', '--json']);
    expect(r.status, r.stderr).toBe(0);
    // ids = prompt + new ids; the row may stop early only at end-of-text
    const row = greedy.ids[0];
    expect(row.slice(0, 2)).toEqual([72, 105]);
    expect(row.length === 42 || row.at(-1) === 256).toBe(true);
    expect(row.length).toBeGreaterThan(BLOCK + 2);
    const crops = r.errLines.filter((l) => l.includes('block_size'));
    expect(crops).toEqual([
      "dcformer generate: the context reached block_size 16; keeping each row's last 8 tokens and going on (each time it fills)",
    ]);
    expect(typeof greedy.text[0]).toBe('string');
  });

  it('--stop STR ends the text before STR; other --stop values may be given too', () => {
    const text = greedy.text[0];
    const at = [...text].findIndex((c, i) => i > 2 && /[ -~]/.test(c));
    expect(at, `no printable character in ${JSON.stringify(text)}`).toBeGreaterThan(0);
    const stop = [...text][at];
    const first = text.indexOf(stop);
    const r = generate(plain, [
      '--prompt',
      'Hi',
      '--max-new-tokens',
      '40',
      '--stop',
      stop,
      '--stop',
      'never in this text \u0001',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Json;
    expect(out.text[0]).toBe(text.slice(0, first));
    expect(out.ids[0].length).toBeLessThan(greedy.ids[0].length);
    const streamed = generate(plain, ['--prompt', 'Hi', '--max-new-tokens', '40', '--stop', stop, '--stream']);
    expect(streamed.stdout).toBe(`${text.slice(0, first)}\n`);
  });

  it('--temperature 0 and --seed alone are greedy', () => {
    for (const extra of [
      ['--temperature', '0'],
      ['--seed', '7'],
      ['--temperature', '0', '--top-k', '5', '--seed', '3'],
    ]) {
      const r = generate(plain, ['--prompt', 'Hi', '--max-new-tokens', '40', '--json', ...extra]);
      expect(r.status, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as Json).ids, extra.join(' ')).toEqual(greedy.ids);
    }
  });

  it('special tokens never appear in the text (plain, --stream or --json)', () => {
    const r = generate(padding, ['--prompt', 'Hi', '--max-new-tokens', '5']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('\n');
    const streamed = generate(padding, ['--prompt', 'Hi', '--max-new-tokens', '5', '--stream']);
    expect(streamed.stdout).toBe('\n');
    const json = JSON.parse(generate(padding, ['--prompt', 'Hi', '--max-new-tokens', '5', '--json']).stdout) as Json;
    expect(json.ids).toEqual([[72, 105, 0, 0, 0, 0, 0]]);
    expect(json.text).toEqual(['']);
  });

  it('a model folder whose tokenizer is named like 20B_tokenizer.json is found', async () => {
    const renamed = await tempDir();
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(plain, f), join(renamed, f));
    copyFileSync(join(plain, 'tokenizer.json'), join(renamed, 'byte_tokenizer.json'));
    const r = generate(renamed, ['--prompt', 'Hi', '--max-new-tokens', '40', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Json).text).toEqual(greedy.text);
  });

  it('--stop without a tokenizer is a usage error (exit 2)', async () => {
    const dir = await tempDir();
    const ids = join(dir, 'ids.json');
    writeFileSync(ids, JSON.stringify({ input_ids: [[1, 2]] }));
    const r = spawnSync(
      CLI,
      ['generate', '--model', join(APP_DIR, '../../fixtures/oracle/case3_dcformer_mha'), '--input', ids, '--stop', 'x'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^dcformer generate: --stop needs tokenizer files in .* to see text; none found\n$/);
  });
});
